using Dromedary.Kernels;
using Dromedary.Kernels.Cpu;
using Dromedary.Kernels.Gpu;
using Dromedary.Model.Config;
using Dromedary.Model.Llama;
using Dromedary.Model.Lora;
using ILGPU;
using ILGPU.Runtime;

namespace Dromedary.Training.Lora;

/// <summary>
/// LoRA training on a model loaded on an ILGPU kernel set: the CPU pass (<see cref="LoraTrainingPass"/>) op for op
/// on the device — per-layer checkpointing (only each block's input is kept; the block is recomputed before its
/// backward), gradients accumulated in device memory, the global grad norm and the fused AdamW there too. The
/// adapter's matrices, gradients and AdamW moments each live in one device buffer (matrix by matrix, A then B, in
/// <see cref="LoraAdapter.Matrices"/> order), so the norm and the update are one launch each; the adapter is copied
/// back to the host after every <see cref="Step"/>. Every device buffer is carved from the set's arena here (see
/// <see cref="Buffers"/>); a step allocates nothing, except that the int8 matmul's activation scratch is sized at
/// its first call. Uses the model's kernel set: run no session on it meanwhile.
/// </summary>
public sealed class IlgpuLoraTrainingEngine : ILoraTrainingEngine
{
    private readonly LlamaModel _model;
    private readonly LlamaConfig _config;
    private readonly GpuTrainingOps _ops;
    private readonly GpuTrainingLayer[] _layers;
    private readonly GpuLayerBuffers _buffers;
    private readonly GpuLoraWorkspace _work;
    private readonly ArrayView<float>[] _layerInputs;
    private readonly ArrayView<float> _gradient, _normed, _logits, _losses;
    private readonly ArrayView<int> _ids, _targets, _positions;
    private readonly ArrayView<float> _parameters, _gradients, _first, _second;
    private readonly (long A, long B)[] _offsets;
    private readonly int[] _hostTargets;
    private readonly float[] _hostLosses;

    /// <param name="dropoutSeed">With the step, micro-batch and sequence index, fixes every dropout mask (as on the CPU).</param>
    public IlgpuLoraTrainingEngine(LlamaModel model, LoraAdapter adapter, int maxTokens, ulong dropoutSeed, AdamWOptions options)
    {
        if (model.Kernels is not IlgpuKernelSet set)
            throw new DromedaryException($"the ILGPU training engine runs on an ILGPU kernel set ('ilgpu'); this model is loaded on '{model.Kernels.Name}'.");
        _config = model.Config;
        adapter.CheckFits(_config, "being trained");
        TrainingTargets.CheckMaxTokens(maxTokens, _config);
        _model = model;
        Adapter = adapter;
        MaxTokens = maxTokens;
        _ops = GpuTrainingOps.On(set, options);
        try
        {
            (_offsets, var total) = Layout(adapter);
            (_parameters, _gradients, _first, _second) = Allocate(_ops, _config, maxTokens, adapter, total,
                out _buffers, out _work, out _layerInputs, out _gradient, out _normed, out _logits, out _losses, out _ids, out _targets, out _positions,
                new LoraDropout(adapter.Config.Dropout, dropoutSeed));
            _positions.CopyFromCPU(Enumerable.Range(0, maxTokens).ToArray());
            Upload(adapter);
            var views = adapter.Matrices.Select((m, i) => (m, Views(i, m))).ToDictionary(p => p.m, p => p.Item2);
            _layers = Enumerable.Range(0, _config.Layers).Select(l => new GpuTrainingLayer(_ops, model, adapter, l, views)).ToArray();
        }
        catch
        {
            _ops.Dispose();
            throw;
        }
        _hostTargets = new int[maxTokens];
        _hostLosses = new float[maxTokens];
    }

    public LoraAdapter Adapter { get; }
    public int MaxTokens { get; }

    /// <summary>
    /// The device buffers the engine takes from the arena (bytes each, arena padding included): what a training
    /// memory plan must add to the model's weights and the set's own buffers. Computed by the same code that
    /// allocates them; not listed: the gradient norm's partials (one float per resident group, a few KiB).
    /// </summary>
    public static IReadOnlyList<(string Name, long Bytes)> Buffers(LlamaConfig config, int maxTokens, LoraAdapter adapter)
    {
        using var counting = GpuTrainingOps.Counting();
        Allocate(counting, config, maxTokens, adapter, Layout(adapter).Total, out _, out _, out _, out _, out _, out _, out _, out _, out _, out _,
            new LoraDropout(adapter.Config.Dropout, 0));
        return counting.Buffers.ToList();
    }

    /// <summary>Where each matrix's A and B start in the adapter-sized buffers, and their total length.</summary>
    private static ((long A, long B)[] Offsets, long Total) Layout(LoraAdapter adapter)
    {
        var offsets = new (long A, long B)[adapter.Matrices.Count];
        var total = 0L;
        for (var i = 0; i < offsets.Length; i++)
        {
            var m = adapter.Matrices[i];
            offsets[i] = (total, total + m.A.Length);
            total += m.A.Length + m.B.Length;
        }
        return (offsets, total);
    }

    private static (ArrayView<float> Parameters, ArrayView<float> Gradients, ArrayView<float> First, ArrayView<float> Second) Allocate(
        GpuTrainingOps memory, LlamaConfig config, int maxTokens, LoraAdapter adapter, long parameters, out GpuLayerBuffers buffers,
        out GpuLoraWorkspace work, out ArrayView<float>[] layerInputs, out ArrayView<float> gradient, out ArrayView<float> normed,
        out ArrayView<float> logits, out ArrayView<float> losses, out ArrayView<int> ids, out ArrayView<int> targets, out ArrayView<int> positions,
        LoraDropout dropout)
    {
        long d = config.HiddenSize;
        buffers = new GpuLayerBuffers(memory, config, maxTokens);
        work = new GpuLoraWorkspace(memory, maxTokens, Math.Max(config.HiddenSize, config.IntermediateSize), adapter.Config.Rank, dropout);
        layerInputs = new ArrayView<float>[config.Layers + 1];
        for (var l = 0; l <= config.Layers; l++) layerInputs[l] = memory.Floats($"layer {l} input", maxTokens * d);
        gradient = memory.Floats("residual gradient", maxTokens * d);
        normed = memory.Floats("final normed", maxTokens * d);
        // The logits are overwritten by their gradient: there is no second [tokens × vocab] buffer.
        logits = memory.Floats("logits", (long)maxTokens * config.VocabSize);
        losses = memory.Floats("token losses", maxTokens);
        ids = memory.Ints("token ids", maxTokens);
        targets = memory.Ints("targets", maxTokens);
        positions = memory.Ints("positions", maxTokens);
        return (memory.Floats("adapter", parameters), memory.Floats("adapter gradients", parameters),
            memory.Floats("adamw first moments", parameters), memory.Floats("adamw second moments", parameters));
    }

    private GpuLoraViews Views(int index, LoraMatrices m)
    {
        var (a, b) = _offsets[index];
        return new GpuLoraViews(_parameters.SubView(a, m.A.Length), _parameters.SubView(b, m.B.Length),
            _gradients.SubView(a, m.A.Length), _gradients.SubView(b, m.B.Length));
    }

    public double ForwardBackward(IReadOnlyList<TrainingSequence> sequences, float lossScale, long step, int firstSequence)
    {
        var loss = 0.0;
        for (var s = 0; s < sequences.Count; s++) loss += Sequence(sequences[s], s, lossScale, new DropoutKey(step, firstSequence + s));
        return loss;
    }

    private double Sequence(TrainingSequence sequence, int index, float lossScale, in DropoutKey key)
    {
        var n = TrainingTargets.Fill(sequence, index, MaxTokens, _config.VocabSize, _hostTargets);
        if (n == 0) return 0;
        int d = _config.HiddenSize, vocab = _config.VocabSize;
        var eps = (float)_config.RmsNormEps;
        var positions = _positions.SubView(0, n);
        var ids = _ids.SubView(0, n);
        ids.CopyFromCPU(sequence.InputIds.AsSpan(0, n));
        _targets.SubView(0, n).CopyFromCPU(_hostTargets.AsSpan(0, n));
        var table = (GpuEmbeddingTable)_model.Embedding;
        _ops.Embedding.Forward(table.View, table.Type, d, ids, _layerInputs[0].Rows(n, d));
        for (var l = 0; l < _layers.Length; l++)
            _layers[l].Forward(_work, _buffers, _layerInputs[l], _layerInputs[l + 1], n, positions, key);

        // Head: final norm, logits, fused cross-entropy; its gradient goes back into the residual stream.
        var last = _layerInputs[^1].Rows(n, d);
        var normed = _normed.Rows(n, d);
        var logits = _logits.Rows(n, vocab);
        var finalNorm = ((GpuVector)_model.FinalNorm).View;
        _ops.RmsNorm.Forward(last, finalNorm, eps, n, normed);
        _ops.Linear(normed, n, _model.Head, logits);
        _ops.CrossEntropy.ForwardBackward(logits, _targets.SubView(0, n), _losses.SubView(0, n), vocab, lossScale);
        _ops.LinearBackwardInput(logits, n, _model.Head, normed);
        _ops.RmsNorm.Backward(last, finalNorm, eps, n, normed, _gradient.Rows(n, d));

        for (var l = _layers.Length - 1; l >= 0; l--)
        {
            _layers[l].Forward(_work, _buffers, _layerInputs[l], null, n, positions, key);
            _layers[l].Backward(_work, _buffers, _layerInputs[l], _gradient, n, positions, l > 0, key);
        }
        _losses.SubView(0, n).CopyToCPU(_hostLosses.AsSpan(0, n));
        var lossSum = 0.0;
        for (var t = 0; t < n; t++) lossSum += _hostLosses[t];
        return lossSum * lossScale;
    }

    public double GradientNorm() => Math.Sqrt(_ops.Norm.SumOfSquares(_gradients));

    public void Step(double learningRate, float gradientScale, int step)
    {
        _ops.AdamW.Step(_parameters, _gradients, _first, _second, learningRate, step, gradientScale);
        for (var i = 0; i < _offsets.Length; i++)
        {
            var views = Views(i, Adapter.Matrices[i]);
            views.A.CopyToCPU(Adapter.Matrices[i].A);
            views.B.CopyToCPU(Adapter.Matrices[i].B);
        }
    }

    public AdamWMoments ExportMoments()
    {
        float[][] Read(ArrayView<float> buffer, bool a) => Adapter.Matrices.Select((m, i) =>
        {
            var values = new float[a ? m.A.Length : m.B.Length];
            buffer.SubView(a ? _offsets[i].A : _offsets[i].B, values.Length).CopyToCPU(values);
            return values;
        }).ToArray();
        return new AdamWMoments(Read(_first, true), Read(_second, true), Read(_first, false), Read(_second, false));
    }

    public void ImportMoments(AdamWMoments moments)
    {
        var matrices = Adapter.Matrices;
        bool Fits(float[][] values, Func<LoraMatrices, int> length) =>
            values.Length == matrices.Count && values.Select((v, i) => v.Length == length(matrices[i])).All(ok => ok);
        if (!Fits(moments.FirstA, m => m.A.Length) || !Fits(moments.SecondA, m => m.A.Length) ||
            !Fits(moments.FirstB, m => m.B.Length) || !Fits(moments.SecondB, m => m.B.Length))
            throw new DromedaryException("the AdamW state does not fit this adapter's matrices (another rank, targets or model?).");
        for (var i = 0; i < matrices.Count; i++)
        {
            _first.SubView(_offsets[i].A, matrices[i].A.Length).CopyFromCPU(moments.FirstA[i]);
            _second.SubView(_offsets[i].A, matrices[i].A.Length).CopyFromCPU(moments.SecondA[i]);
            _first.SubView(_offsets[i].B, matrices[i].B.Length).CopyFromCPU(moments.FirstB[i]);
            _second.SubView(_offsets[i].B, matrices[i].B.Length).CopyFromCPU(moments.SecondB[i]);
        }
    }

    private void Upload(LoraAdapter adapter)
    {
        for (var i = 0; i < adapter.Matrices.Count; i++)
        {
            var views = Views(i, adapter.Matrices[i]);
            views.A.CopyFromCPU(adapter.Matrices[i].A);
            views.B.CopyFromCPU(adapter.Matrices[i].B);
        }
    }

    public void Dispose() => _ops.Dispose();
}
