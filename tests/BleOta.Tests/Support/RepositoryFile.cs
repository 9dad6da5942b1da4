namespace BleOta.Tests.Support;

/// <summary>Files of this repository the tests read (the firmware's configuration, shared test vectors).</summary>
internal static class RepositoryFile
{
    /// <summary>The full path of <paramref name="relativePath"/>, found above the test assembly.</summary>
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relativePath} not found above {AppContext.BaseDirectory}");
    }
}
