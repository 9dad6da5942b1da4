using System.Security.Cryptography;

namespace BleOta.Engine.Delta;

/// <summary>
/// The images this computer has sent, named by their SHA-256, so that a later update can patch against the one a
/// device runs (its Info names it by that hash). It lives where PowerShell keeps a user's data: under
/// <c>$env:LOCALAPPDATA</c> on Windows (where PowerShell keeps its cache), under <c>$XDG_DATA_HOME</c> or
/// <c>~/.local/share</c> elsewhere (PowerShell's <c>Platform.SelectProductNameForDirectory</c> for user modules,
/// src/System.Management.Automation/CoreCLR/CorePsPlatform.cs). The most recently used
/// <see cref="Capacity"/> images are kept. Every file is checked against its name when read, written under a
/// temporary name and then renamed, so parallel updates and other processes never see half an image. A cache
/// that cannot be used (no home, read-only disk) only means no delta: every method says so rather than throw.
/// </summary>
public sealed class BaseImageCache(string directory, int capacity = BaseImageCache.DefaultCapacity)
{
    public const int DefaultCapacity = 32;

    private const string Extension = ".bin";

    public string Directory { get; } = directory;

    public int Capacity { get; } = capacity;

    /// <summary>The cache of the current user, in the folder <see cref="DefaultDirectory"/> names.</summary>
    public static BaseImageCache ForCurrentUser() => new(DefaultDirectory());

    /// <summary><c>BleOta/images</c> under the user's local data folder.</summary>
    public static string DefaultDirectory()
    {
        string root;
        if (OperatingSystem.IsWindows())
        {
            root = Environment.GetEnvironmentVariable("LOCALAPPDATA") is { Length: > 0 } local
                ? local
                : Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        }
        else
        {
            root = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        }

        return Path.Combine(root, "BleOta", "images");
    }

    /// <summary>The image with this SHA-256, or null (not cached, or its file was damaged and is now gone).</summary>
    public byte[]? TryGet(ReadOnlySpan<byte> sha256, out string? problem)
    {
        problem = null;
        string path = PathFor(sha256);
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            var image = File.ReadAllBytes(path);
            if (!SHA256.HashData(image).AsSpan().SequenceEqual(sha256))
            {
                File.Delete(path);
                problem = $"{path} did not match its SHA-256 and was removed";
                return null;
            }

            File.SetLastWriteTimeUtc(path, DateTime.UtcNow); // recently used: kept longest
            return image;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = $"the image cache {Directory} could not be read: {ex.Message}";
            return null;
        }
    }

    /// <summary>Keeps <paramref name="image"/> (a no-op when it is there already) and forgets the least recently used beyond the capacity; false with the reason when it could not.</summary>
    public bool Add(byte[] image, out string? problem)
    {
        problem = null;
        string path = PathFor(SHA256.HashData(image));
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            if (File.Exists(path))
            {
                File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
            }
            else
            {
                string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
                File.WriteAllBytes(temporary, image);
                File.Move(temporary, path, overwrite: true);
            }

            Trim();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = $"the image cache {Directory} could not be written: {ex.Message}";
            return false;
        }
    }

    private void Trim()
    {
        var files = new DirectoryInfo(Directory).GetFiles("*" + Extension).OrderByDescending(f => f.LastWriteTimeUtc).ToList();
        foreach (var stale in files.Skip(Capacity))
        {
            try
            {
                stale.Delete();
            }
            catch (IOException)
            {
                // Another process is trimming too, or still reading it: it goes next time.
            }
        }
    }

    private string PathFor(ReadOnlySpan<byte> sha256) => Path.Combine(Directory, Convert.ToHexString(sha256).ToLowerInvariant() + Extension);
}
