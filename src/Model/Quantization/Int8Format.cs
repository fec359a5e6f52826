namespace Dromedary.Model.Quantization;

/// <summary>
/// How an int8 checkpoint is stored: each linear weight <c>X.weight</c> becomes I8 values of the same shape plus
/// <c>X.weight_scale</c>, F32 [rows, groups]; the file metadata says the scheme and the group size.
/// </summary>
public static class Int8Format
{
    public const string SchemeKey = "dromedary.quantization";
    public const string Scheme = "int8-symmetric-absmax";
    public const string GroupSizeKey = "dromedary.group_size";
    public const string PerRow = "row";

    public static string ScaleName(string weightName) => weightName + "_scale";

    public static string GroupSizeText(int groupSize) => groupSize == 0 ? PerRow : groupSize.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Group size for a weight with <paramref name="cols"/> inputs; 0 in metadata means one scale per row.</summary>
    public static int EffectiveGroupSize(int groupSize, int cols) => groupSize == 0 ? cols : Math.Min(groupSize, cols);

    /// <summary>Reads the group size from metadata: 0 for per-row.</summary>
    public static int ParseGroupSize(IReadOnlyDictionary<string, string> metadata, string file)
    {
        if (!metadata.TryGetValue(SchemeKey, out var scheme) || scheme != Scheme)
            throw new DromedaryException($"{file}: int8 tensors without '{SchemeKey}: {Scheme}' metadata; only checkpoints written by 'dromedary quantize' can be read as int8.");
        if (!metadata.TryGetValue(GroupSizeKey, out var text) || text == PerRow) return 0;
        return int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var size) && size > 0
            ? size
            : throw new DromedaryException($"{file}: metadata '{GroupSizeKey}' is '{text}', expected '{PerRow}' or a positive whole number.");
    }
}
