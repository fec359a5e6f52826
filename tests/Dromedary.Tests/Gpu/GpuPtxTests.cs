using System.Reflection;
using Dromedary.Kernels.Gpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit;

namespace Dromedary.Tests.Gpu;

/// <summary>
/// Every kernel of the ILGPU set compiles to PTX for Ampere (SM_80) and Hopper (SM_90) without a GPU or driver:
/// the check CI can run anywhere.
/// </summary>
public sealed class GpuPtxTests
{
    /// <summary>By the set's convention, its kernels are the public static void …Kernel methods of its namespace.</summary>
    private static readonly MethodInfo[] Kernels = typeof(IlgpuKernelSet).Assembly.GetTypes()
        .Where(type => type.Namespace == typeof(IlgpuKernelSet).Namespace)
        .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .Where(method => method.Name.EndsWith("Kernel", StringComparison.Ordinal) && method.ReturnType == typeof(void))
        .ToArray();

    private static string Name(MethodInfo method) => $"{method.DeclaringType!.Name}.{method.Name}";

    public static TheoryData<string, int> Cases()
    {
        var cases = new TheoryData<string, int>();
        foreach (var kernel in Kernels)
        {
            cases.Add(Name(kernel), 80);
            cases.Add(Name(kernel), 90);
        }
        return cases;
    }

    [Fact]
    public void Every_op_kernel_is_found()
    {
        string[] expected =
        [
            "GpuEmbedding.ForwardKernel", "GpuRmsNorm.ForwardKernel", "GpuFp32MatMul.ForwardKernel", "GpuRope.ForwardKernel",
            "GpuAttention.PiecesKernel", "GpuAttention.MergeKernel", "GpuSwiGlu.ForwardKernel", "GpuResidual.AddKernel",
            "GpuLogSoftmax.ForwardKernel", "GpuPagedAttention.StoreKernel", "GpuPagedAttention.AttentionKernel",
            // Training: backward of every op, the LoRA GEMM forms, the fused loss, the optimizer.
            "GpuRmsNorm.BackwardKernel", "GpuRope.BackwardKernel", "GpuAttention.BackwardQueriesKernel", "GpuAttention.BackwardKeysKernel",
            "GpuSwiGlu.BackwardKernel", "GpuFp32MatMul.MultiplyKernel", "GpuFp32MatMul.MultiplyTransposedAKernel",
            "GpuInt8MatMul.BackwardInputKernel", "GpuCrossEntropy.ForwardBackwardKernel", "GpuAdamW.StepKernel",
            "GpuGradientNorm.SumOfSquaresKernel", "GpuDropout.ApplyKernel",
        ];
        Assert.Subset(Kernels.Select(Name).ToHashSet(), expected.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kernel_compiles_to_ptx(string kernel, int architecture)
    {
        var ptx = Compile(kernel, architecture == 80 ? CudaArchitecture.SM_80 : CudaArchitecture.SM_90);
        Assert.Contains(".entry", ptx);
        Assert.DoesNotContain(".extern .func", ptx);
    }

    /// <summary>The intrinsics the kernels lean on become single hardware instructions, not emulation.</summary>
    [Theory]
    [InlineData("GpuRmsNorm.ForwardKernel", "shfl.sync.bfly")]
    [InlineData("GpuRmsNorm.ForwardKernel", "bar.sync")]
    [InlineData("GpuLogSoftmax.ForwardKernel", "ex2.approx")]
    [InlineData("GpuEmbedding.ForwardKernel", "cvt.f32.f16")]
    public void Kernel_uses_the_hardware_instruction(string kernel, string instruction)
    {
        Assert.Contains(instruction, Compile(kernel, CudaArchitecture.SM_90));
    }

    /// <summary>Compiles in a fresh context: a failed compile poisons its context.</summary>
    private static string Compile(string kernel, CudaArchitecture architecture)
    {
        using var context = Context.Create(builder => IlgpuRuntime.Configure(builder));
        var instructions = CudaAccelerator.GetInstructionSet(architecture, CudaDriverVersion.FromMajorMinor(12, 9));
        using var backend = new PTXBackend(context, architecture, instructions, nvvmAPI: null!);
        var method = Kernels.Single(m => Name(m) == kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }
}
