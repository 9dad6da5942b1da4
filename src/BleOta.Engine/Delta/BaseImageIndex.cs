using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace BleOta.Engine.Delta;

/// <summary>
/// The images an update was pointed at as possible bases (<c>-BaseImage</c>): files, or folders of past builds
/// searched for <c>*.bin</c>, found by SHA-256. Hashes are remembered by path, length and time written, so a fleet
/// update hashes a folder once, not once per device.
/// </summary>
internal sealed class BaseImageIndex
{
    private readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), byte[]> _hashes = new();

    /// <summary>The first image under <paramref name="paths"/> with this SHA-256, and its path; null when none has it.</summary>
    public (byte[] Image, string Path)? Find(IEnumerable<string> paths, byte[] sha256)
    {
        foreach (var file in paths.SelectMany(Candidates))
        {
            try
            {
                var info = new FileInfo(file);
                var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
                if (_hashes.TryGetValue(key, out var known) && !known.AsSpan().SequenceEqual(sha256))
                {
                    continue;
                }

                var image = File.ReadAllBytes(file);
                var hash = SHA256.HashData(image);
                _hashes[key] = hash;
                if (hash.AsSpan().SequenceEqual(sha256))
                {
                    return (image, info.FullName);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // An unreadable file is not the base; the others may be.
            }
        }

        return null;
    }

    private static IEnumerable<string> Candidates(string path) =>
        File.Exists(path) ? [path]
        : System.IO.Directory.Exists(path) ? System.IO.Directory.EnumerateFiles(path, "*.bin", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
        : [];
}
