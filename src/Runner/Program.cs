using Dromedary.Runner;
using Dromedary.Runner.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("dromedary");
    config.SetExceptionHandler((exception, _) => ErrorReport.Print(exception));
    config.AddCommand<TokenizeCommand>("tokenize").WithDescription("Show the token ids and pieces of a text.")
        .WithExample("tokenize", "--model", "llama-7b-hf", "--text", "Hello world");
    config.AddCommand<LogprobsCommand>("logprobs").WithDescription("Log-probability of each token of a text given the tokens before it.")
        .WithExample("logprobs", "--model", "llama-7b-hf", "--text", "The capital of France is Paris.", "--json");
    config.AddCommand<GenerateCommand>("generate").WithDescription("Continue a prompt greedily, streaming the text.")
        .WithExample("generate", "--model", "llama-7b-hf", "--prompt", "Once upon a time", "--max-new-tokens", "64");
    config.AddCommand<QuantizeCommand>("quantize").WithDescription("Write an int8 copy of a checkpoint that later loads without re-quantizing.")
        .WithExample("quantize", "--model", "llama-7b-hf", "--out", "llama-7b-int8", "--group", "128");
    config.AddCommand<PlanCommand>("plan").WithDescription("Memory a model needs on a kernel set: weights, KV cache, activations; with --train, a LoRA training step.")
        .WithExample("plan", "--model", "llama-65b", "--context", "2048", "--device-memory", "141GB");
    config.AddCommand<InfoCommand>("info").WithDescription("Show this machine's kernel sets and CPU features.");
});
return app.Run(args);
