namespace BleOta.Tests.Support;

/// <summary>docs/protocol-vectors.txt and docs/delta-vectors.txt, the byte-exact v2 messages and delta patches the C tests read too.</summary>
internal static class ProtocolVectors
{
    private static readonly Lazy<Dictionary<string, byte[]>> All = new(Load);

    public static byte[] Get(string name) =>
        All.Value.TryGetValue(name, out var bytes) ? bytes : throw new KeyNotFoundException($"No vector '{name}' in docs/protocol-vectors.txt or docs/delta-vectors.txt.");

    private static Dictionary<string, byte[]> Load()
    {
        var vectors = new Dictionary<string, byte[]>();
        foreach (var line in File.ReadLines(RepositoryFile.Find("docs/protocol-vectors.txt")).Concat(File.ReadLines(RepositoryFile.Find("docs/delta-vectors.txt"))))
        {
            int eq = line.IndexOf('=');
            if (line.StartsWith('#') || eq < 0)
            {
                continue;
            }

            string hex = string.Concat(line[(eq + 1)..].Where(c => !char.IsWhiteSpace(c)));
            vectors[line[..eq].Trim()] = Convert.FromHexString(hex);
        }

        return vectors;
    }
}
