namespace BleOta;

/// <summary>
/// Where a radio's assembly is. The BlueZ radio ships in the BleOta module; the WinRT radio, which needs the 26 MB
/// Windows SDK projection, ships as its own module, BleOta.WinRT, so Linux and macOS installs do not carry it. That
/// module sits beside BleOta: in the build output (out/BleOta.WinRT), installed beside it (Modules/BleOta.WinRT/&lt;version&gt;),
/// or anywhere on PSModulePath.
/// </summary>
internal static class RadioAssemblies
{
    /// <summary>The module that carries a radio's assembly when the BleOta module does not: BleOta.WinRT.</summary>
    public static string ModuleName(RadioTransport kind) => $"BleOta.{kind}";

    public static string FileName(RadioTransport kind) => $"BleOta.Transport.{kind}.dll";

    /// <summary>The first of <see cref="Candidates"/> that exists, or null.</summary>
    public static string? Find(RadioTransport kind, string moduleDirectory, string? psModulePath) =>
        Candidates(kind, moduleDirectory, psModulePath).FirstOrDefault(File.Exists);

    /// <summary>
    /// Where to look, in order: beside the cmdlets; the radio's module beside this module (unversioned as in the build
    /// output, or in its version folders, newest first); then the radio's module in each PSModulePath folder.
    /// </summary>
    public static IEnumerable<string> Candidates(RadioTransport kind, string moduleDirectory, string? psModulePath)
    {
        yield return Path.Combine(moduleDirectory, FileName(kind));
        var roots = new List<string>();
        // out/BleOta -> out; Modules/BleOta/0.1.0 -> Modules.
        if (Path.GetDirectoryName(moduleDirectory) is { } parent)
        {
            roots.Add(Version.TryParse(Path.GetFileName(moduleDirectory), out _) && Path.GetDirectoryName(parent) is { } grandParent ? grandParent : parent);
        }

        roots.AddRange((psModulePath ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (string root in roots.Distinct(StringComparer.Ordinal))
        {
            string module = Path.Combine(root, ModuleName(kind));
            yield return Path.Combine(module, FileName(kind));
            foreach (string versioned in VersionFolders(module))
            {
                yield return Path.Combine(versioned, FileName(kind));
            }
        }
    }

    private static IEnumerable<string> VersionFolders(string module) =>
        Directory.Exists(module)
            ? Directory.EnumerateDirectories(module)
                .Select(d => (Path: d, Version: Version.TryParse(Path.GetFileName(d), out var v) ? v : null))
                .Where(d => d.Version is not null)
                .OrderByDescending(d => d.Version)
                .Select(d => d.Path)
            : [];
}
