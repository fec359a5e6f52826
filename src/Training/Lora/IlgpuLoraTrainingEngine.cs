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
/// on the device — a micro-batch packed into one block of tokens (<see cref="TokenBlock"/>), per-layer
/// checkpointing (only each layer's input is kept; the layer is recomputed before its backward), the head in
/// chunks of <see cref="TrainingBuffers.HeadChunk"/> rows, gradients accumulated in device memory, the global grad
/// norm and the fused AdamW there too. The adapter's matrices, gradients and AdamW moments each live in one device
/// buffer (matrix by matrix, A then B, in <see cref="LoraAdapter.Matrices"/> order), so the norm and the update are
/// one launch each; the adapter is copied back to the host after every <see cref="Step"/>. Every device buffer is
/// carved from the set's arena here, exactly <see cref="TrainingBuffers"/>' list (what the training memory plan
/// sums; the gradient norm's partials are the set's own); a step allocates nothing. Load the model
/// with the training plan (<see cref="ModelLoadOptions.Memory"/> = <see cref="Planning.TrainingPlanner.Plan"/>) so
/// the arena is reserved to exactly that, the int8 matmul's activation scratch included. Uses the model's kernel
/// set: run no session on it meanwhile.
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
    private readonly TokenBlock _block;
    private readonly float[] _hostLosses;

    /// <param name="maxTokens">The longest sequence.</param>
    /// <param name="microBatch">Sequences of <paramref name="maxTokens"/> one block holds.</param>
    /// <param name="dropoutSeed">With the step and the sequence's place in it, fixes every dropout mask (as on the CPU).</param>
    public IlgpuLoraTrainingEngine(LlamaModel model, LoraAdapter adapter, int maxTokens, int microBatch, ulong dropoutSeed, AdamWOptions options)
    {
        if (model.Kernels is not IlgpuKernelSet set)
            throw new DromedaryException($"the ILGPU training engine runs on an ILGPU kernel set ('ilgpu'); this model is loaded on '{model.Kernels.Name}'.");
        _config = model.Config;
        adapter.CheckFits(_config, "being trained");
        TrainingTargets.CheckMaxTokens(maxTokens, _config);
        var blockTokens = TrainingTargets.BlockTokens(maxTokens, microBatch);
        if (model.Precision == Precision.Int8 && set.Int8Op.Bounds.Rows < blockTokens)
            throw new DromedaryException($"the model's memory was planned for int8 matmuls of {set.Int8Op.Bounds.Rows} rows, fewer than a " +
                                         $"block's {blockTokens} tokens ({microBatch} × {maxTokens}); load it with the training plan.");
        _model = model;
        Adapter = adapter;
        MaxTokens = maxTokens;
        _offsets = Layout(adapter);
        _ops = GpuTrainingOps.On(set, options);
        try
        {
            var list = TrainingBuffers.For(_config, adapter.Config, blockTokens).ToList();
            var floats = list.Where(b => !b.Integer).ToDictionary(b => b.Name, b => _ops.Floats((long)b.Rows * b.Cols));
            var ints = list.Where(b => b.Integer).ToDictionary(b => b.Name, b => _ops.Ints((long)b.Rows * b.Cols));
            (_parameters, _gradients, _first, _second) = (floats["adapter"], floats["adapter gradients"], floats["adamw first moments"], floats["adamw second moments"]);
            _buffers = new GpuLayerBuffers(floats);
            _work = new GpuLoraWorkspace(floats, new LoraDropout(adapter.Config.Dropout, dropoutSeed));
            _layerInputs = Enumerable.Range(0, _config.Layers + 1).Select(l => floats[$"layer {l} input"]).ToArray();
            (_normed, _gradient, _logits, _losses) = (floats["final normed"], floats["residual gradient"], floats["logits chunk"], floats["token losses"]);
            (_ids, _targets, _positions) = (ints["token ids"], ints["targets"], ints["positions"]);
            Upload(adapter);
            var views = adapter.Matrices.Select((m, i) => (m, Views(i, m))).ToDictionary(p => p.m, p => p.Item2);
            _layers = Enumerable.Range(0, _config.Layers).Select(l => new GpuTrainingLayer(_ops, model, adapter, l, views)).ToArray();
        }
        catch
        {
            _ops.Dispose();
            throw;
        }
        _block = new TokenBlock(new int[blockTokens], new int[blockTokens], new int[blockTokens], maxTokens, _config.VocabSize);
        _hostLosses = new float[_losses.Length];
    }

    public LoraAdapter Adapter { get; }
    public int MaxTokens { get; }

    /// <summary>Where each matrix's A and B start in the adapter-sized buffers (<see cref="TrainingBuffers.AdapterParameters"/> long).</summary>
    private static (long A, long B)[] Layout(LoraAdapter adapter)
    {
        var offsets = new (long A, long B)[adapter.Matrices.Count];
        var total = 0L;
        for (var i = 0; i < offsets.Length; i++)
        {
            var m = adapter.Matrices[i];
            offsets[i] = (total, total + m.A.Length);
            total += m.A.Length + m.B.Length;
        }
        return offsets;
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
        for (var next = 0; next < sequences.Count;)
        {
            next = _block.Pack(sequences, next, step, firstSequence);
            if (_block.Tokens > 0) loss += Block(lossScale);
        }
        return loss;
    }

    private double Block(float lossScale)
    {
        var n = _block.Tokens;
        int d = _config.HiddenSize, vocab = _config.VocabSize;
        var eps = (float)_config.RmsNormEps;
        var ids = _ids.SubView(0, n);
        ids.CopyFromCPU(_block.Ids);
        _positions.SubView(0, n).CopyFromCPU(_block.Positions);
        _targets.SubView(0, n).CopyFromCPU(_block.Targets);
        var table = (GpuEmbeddingTable)_model.Embedding;
        _ops.Embedding.Forward(table.View, table.Type, d, ids, _layerInputs[0].Rows(n, d));
        for (var l = 0; l < _layers.Length; l++) _layers[l].Forward(_work, _buffers, _layerInputs[l], _layerInputs[l + 1], _block, _positions);

        // Head: final norm, then per chunk of rows logits and fused cross-entropy, whose gradient goes back through
        // the head into the normed rows; then into the residual stream.
        var last = _layerInputs[^1].Rows(n, d);
        var normed = _normed.Rows(n, d);
        var finalNorm = ((GpuVector)_model.FinalNorm).View;
        _ops.RmsNorm.Forward(last, finalNorm, eps, n, normed);
        var lossSum = 0.0;
        for (var start = 0; start < n; start += (int)_losses.Length)
        {
            var rows = Math.Min((int)_losses.Length, n - start);
            var chunk = normed.SubView((long)start * d, (long)rows * d);
            var logits = _logits.Rows(rows, vocab);
            _ops.Linear(chunk, rows, _model.Head, logits);
            _ops.CrossEntropy.ForwardBackward(logits, _targets.SubView(start, rows), _losses.SubView(0, rows), vocab, lossScale);
            _ops.LinearBackwardInput(logits, rows, _model.Head, chunk);
            _losses.SubView(0, rows).CopyToCPU(_hostLosses.AsSpan(0, rows));
            for (var t = 0; t < rows; t++) lossSum += _hostLosses[t];
        }
        _ops.RmsNorm.Backward(last, finalNorm, eps, n, normed, _gradient.Rows(n, d));

        for (var l = _layers.Length - 1; l >= 0; l--)
        {
            _layers[l].Forward(_work, _buffers, _layerInputs[l], null, _block, _positions);
            _layers[l].Backward(_work, _buffers, _layerInputs[l], _gradient, _block, _positions, l > 0);
        }
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
