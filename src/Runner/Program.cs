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
    config.AddCommand<GenerateCommand>("generate").WithDescription("Continue a prompt, streaming the text, or complete a JSONL file of prompts, resumably.")
        .WithExample("generate", "--model", "llama-7b-hf", "--prompt", "Once upon a time", "--max-new-tokens", "64")
        .WithExample("generate", "--model", "llama-7b-hf", "--prompts", "prompts.jsonl", "--out", "completions.jsonl");
    config.AddCommand<ChatCommand>("chat").WithDescription("Chat with a model in Dromedary's format; /reset clears the history, /exit quits.")
        .WithExample("chat", "--model", "llama-65b-hf", "--adapter", "runs/r1/final");
    config.AddCommand<QuantizeCommand>("quantize").WithDescription("Write an int8 copy of a checkpoint that later loads without re-quantizing.")
        .WithExample("quantize", "--model", "llama-7b-hf", "--out", "llama-7b-int8", "--group", "128");
    config.AddCommand<PlanCommand>("plan").WithDescription("Memory a model needs on a kernel set: weights, KV cache, activations; with --train, a LoRA training step.")
        .WithExample("plan", "--model", "llama-65b", "--context", "2048", "--device-memory", "141GB");
    config.AddCommand<PretrainCommand>("pretrain").WithDescription("Train a small LLaMA from random weights on a text corpus (full-parameter fp32, CPU), resumably.")
        .WithExample("pretrain", "--config", "config.json", "--tokenizer", "tokenizer.model", "--corpus", "corpus.txt", "--steps", "2000", "--out", "toy");
    config.AddBranch("eval", evaluation =>
    {
        evaluation.SetDescription("Multiple-choice benchmarks scored by log-likelihood (METHOD.md §7), and a side-by-side view of two results.");
        evaluation.AddCommand<EvalTruthfulQaCommand>("truthfulqa").WithDescription("TruthfulQA MC: --protocol true-false (the method's, default), mc1, mc2 or all.")
            .WithExample("eval", "truthfulqa", "--model", "llama-65b-hf", "--adapter", "runs/r1/final", "--data", "mc_task.json", "--out", "tqa.json");
        evaluation.AddCommand<EvalHhhCommand>("hhh").WithDescription("BIG-bench HHH: the method's A/B protocol in both orders, per category and overall.")
            .WithExample("eval", "hhh", "--model", "llama-65b-hf", "--data", "BIG-bench/bigbench/benchmark_tasks/hhh_alignment", "--out", "hhh.json");
        evaluation.AddCommand<EvalCompareCommand>("compare").WithDescription("Two result files side by side.")
            .WithExample("eval", "compare", "base.json", "aligned.json");
    });
    config.AddCommand<TrainCommand>("train").WithDescription("Train a LoRA adapter on instruction records; resumable, with metrics and a loss plot.")
        .WithExample("train", "--base", "llama-7b-hf", "--data", "self_align.jsonl", "--out", "runs/stage3", "--micro-batch", "8");
    config.AddCommand<EngraveCommand>("engrave").WithDescription("Stage 3: train a LoRA on stage 2's kept records under our standard prompt (METHOD.md §4).")
        .WithExample("engrave", "--base", "llama-7b-hf", "--data", "runs/r1/stage2/kept.jsonl", "--out", "runs/r1/stage3");
    config.AddCommand<VerboseCloneCommand>("verbose-clone").WithDescription("Stage 4: verbose answers from the stage-3 model, filtered, then a fresh LoRA on them (METHOD.md §5).")
        .WithExample("verbose-clone", "--base", "llama-7b-hf", "--adapter", "runs/r1/stage3", "--data", "runs/r1/stage2/kept.jsonl", "--out", "runs/r1/stage4");
    config.AddCommand<MergeCommand>("merge").WithDescription("Write a base model with a LoRA adapter merged in, as a plain Hugging Face checkpoint.")
        .WithExample("merge", "--base", "llama-7b-hf", "--adapter", "runs/stage3", "--out", "dromedary-7b", "--dtype", "f16");
    config.AddCommand<SelfInstructCommand>("self-instruct").WithDescription("Stage 1a: generate instructions from seed tasks (Self-Instruct, ROUGE-L novelty filter).")
        .WithExample("self-instruct", "--model", "llama-65b-hf", "--out", "runs/si", "--shard", "0/32");
    config.AddCommand<TgrtTopicsCommand>("tgrt-topics").WithDescription("Stage 1b: brainstorm topics for each red-teaming question type.")
        .WithExample("tgrt-topics", "--model", "llama-65b-hf", "--out", "runs/topics");
    config.AddCommand<TgrtQuestionsCommand>("tgrt-questions").WithDescription("Stage 1c: generate questions for (topic, type) hints.")
        .WithExample("tgrt-questions", "--model", "llama-65b-hf", "--topics", "runs/topics/kept.jsonl", "--out", "runs/tq", "--shard", "0/8");
    config.AddCommand<SelfAlignCommand>("self-align").WithDescription("Stage 2: answer instructions under the principles and exemplars; filter the answers.")
        .WithExample("self-align", "--model", "llama-65b-hf", "--instructions", "runs/si/kept.jsonl", "--out", "runs/sa", "--shard", "0/32");
    config.AddCommand<MergeShardsCommand>("merge-shards").WithDescription("Join a stage's shard folders into its run directory's kept.jsonl.")
        .WithExample("merge-shards", "--out", "runs/sa");
    config.AddCommand<AlignCommand>("align").WithDescription("The whole method: stages 1a → 4 into one run folder (resumable), then report.md/html and the final adapter.")
        .WithExample("align", "--base", "llama-7b-hf", "--out", "runs/r1", "--config", "scale.json");
    config.AddCommand<DemoCommand>("demo").WithDescription("align on the toy model shipped with the build, at a small scale: the pipeline end to end in minutes.")
        .WithExample("demo", "--out", "demo-run");
    config.AddCommand<InfoCommand>("info").WithDescription("Show this machine's kernel sets and CPU features.");
});
return app.Run(args);
