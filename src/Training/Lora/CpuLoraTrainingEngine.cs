using Dromedary.Kernels.Cpu;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;

namespace Dromedary.Training.Lora;

/// <summary>
/// The CPU kernel sets' training engine: <see cref="LoraTrainingPass"/> for forward and backward,
/// gradients accumulated in host arrays, the double-precision global norm and the fused <see cref="CpuAdamW"/>
/// on the model's worker pool. Everything is allocated here, so a step allocates nothing.
/// </summary>
internal sealed class CpuLoraTrainingEngine : ILoraTrainingEngine
{
    private readonly LoraTrainingPass _pass;
    private readonly LoraGradients _gradients;
    private readonly CpuAdamW _adamW;
    private readonly float[][] _firstA, _secondA, _firstB, _secondB;

    public CpuLoraTrainingEngine(LlamaModel model, CpuKernelSet set, LoraAdapter adapter, int maxTokens, int microBatch, ulong seed,
        AdamWOptions options)
    {
        _pass = new LoraTrainingPass(model, adapter, maxTokens, seed, microBatch);
        _gradients = new LoraGradients(adapter);
        _adamW = new CpuAdamW(set.Pool, options);
        _firstA = Zeros(_gradients.A);
        _secondA = Zeros(_gradients.A);
        _firstB = Zeros(_gradients.B);
        _secondB = Zeros(_gradients.B);
    }

    public LoraAdapter Adapter => _pass.Adapter;
    public int MaxTokens => _pass.MaxTokens;

    public double ForwardBackward(IReadOnlyList<TrainingSequence> sequences, float lossScale, long step, int firstSequence) =>
        _pass.ForwardBackward(sequences, lossScale, _gradients, step, firstSequence);

    public double GradientNorm()
    {
        var sum = 0.0;
        foreach (var gradient in _gradients.A) sum += Kernels.Cpu.GradientNorm.SumOfSquares(gradient);
        foreach (var gradient in _gradients.B) sum += Kernels.Cpu.GradientNorm.SumOfSquares(gradient);
        return Math.Sqrt(sum);
    }

    public void Step(double learningRate, float gradientScale, int step)
    {
        var matrices = Adapter.Matrices;
        for (var i = 0; i < matrices.Count; i++)
        {
            Update(matrices[i].A, _gradients.A[i], _firstA[i], _secondA[i], learningRate, gradientScale, step);
            Update(matrices[i].B, _gradients.B[i], _firstB[i], _secondB[i], learningRate, gradientScale, step);
        }
        _gradients.Clear();
    }

    private void Update(float[] parameters, float[] gradient, float[] m, float[] v, double learningRate, float gradientScale, int step)
    {
        if (gradientScale != 1) Kernels.Cpu.GradientNorm.Scale(gradient, gradientScale);
        _adamW.Step(parameters, gradient, m, v, learningRate, step);
    }

    public AdamWMoments ExportMoments() => new(Copy(_firstA), Copy(_secondA), Copy(_firstB), Copy(_secondB));

    public void ImportMoments(AdamWMoments moments)
    {
        Import(moments.FirstA, _firstA, "first moment of A");
        Import(moments.SecondA, _secondA, "second moment of A");
        Import(moments.FirstB, _firstB, "first moment of B");
        Import(moments.SecondB, _secondB, "second moment of B");
    }

    private static void Import(float[][] source, float[][] destination, string what)
    {
        if (source.Length != destination.Length || source.Where((s, i) => s.Length != destination[i].Length).Any())
            throw new ArgumentException($"the {what} has other shapes than the adapter's matrices");
        for (var i = 0; i < source.Length; i++) source[i].CopyTo(destination[i], 0);
    }

    private static float[][] Zeros(IReadOnlyList<float[]> shapes) => shapes.Select(g => new float[g.Length]).ToArray();

    private static float[][] Copy(float[][] arrays) => arrays.Select(a => (float[])a.Clone()).ToArray();

    public void Dispose() => _pass.Dispose();
}
