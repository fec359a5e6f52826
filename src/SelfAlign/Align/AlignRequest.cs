namespace Dromedary.SelfAlign.Align;

/// <summary>An align run: the base model folder, the run folder, the stage parameters, the seed and the precision ("int8" or "fp32").</summary>
public sealed record AlignRequest(string Base, string RunDirectory, AlignConfig Config, int Seed = 42, string Precision = "int8")
{
    public const string FinalFolder = "final";

    /// <summary>RUN/final: the final adapter, for `chat --adapter`.</summary>
    public string Final => Path.Combine(RunDirectory, FinalFolder);
}

/// <summary>How an align invocation ended: finished (every stage complete) or stopped by cancellation before <paramref name="StoppedIn"/> was done.</summary>
public sealed record AlignOutcome(bool Completed, AlignStage? StoppedIn, string Report);
