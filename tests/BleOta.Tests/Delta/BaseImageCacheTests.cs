using System.Security.Cryptography;
using BleOta.Engine.Delta;
using BleOta.Tests.Support;

namespace BleOta.Tests.Delta;

/// <summary>The cache of images sent before: where it lives, what it keeps and forgets, and that it never fails an update.</summary>
public sealed class BaseImageCacheTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "bleota-tests", "cache-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void It_lives_under_the_users_local_data_folder()
    {
        // The test process points XDG_DATA_HOME (and LOCALAPPDATA, on Windows) at its own folder (IsolatedUserData).
        Assert.Equal(Path.Combine(IsolatedUserData.Root, "BleOta", "images"), BaseImageCache.DefaultDirectory());
    }

    [Fact]
    public void An_image_added_is_found_by_its_sha256_and_nothing_else_is()
    {
        var cache = new BaseImageCache(_directory);
        var image = TestImages.Build(version: "1.2.3");

        Assert.True(cache.Add(image, out _));

        Assert.Equal(image, cache.TryGet(SHA256.HashData(image), out _));
        Assert.Null(cache.TryGet(SHA256.HashData(TestImages.Build(version: "9.9.9")), out var problem));
        Assert.Null(problem);
    }

    [Fact]
    public void A_damaged_file_is_never_used_and_is_removed()
    {
        var cache = new BaseImageCache(_directory);
        var image = TestImages.Build();
        cache.Add(image, out _);
        string file = Directory.GetFiles(_directory).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[500] ^= 0xFF;
        File.WriteAllBytes(file, bytes);

        Assert.Null(cache.TryGet(SHA256.HashData(image), out var problem));
        Assert.Contains("did not match its SHA-256 and was removed", problem);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public void Beyond_its_capacity_it_forgets_the_least_recently_used()
    {
        var cache = new BaseImageCache(_directory, capacity: 3);
        var images = Enumerable.Range(1, 4).Select(n => TestImages.Build(version: $"1.0.{n}")).ToList();
        for (int i = 0; i < 3; i++)
        {
            cache.Add(images[i], out _);
            LastUsed(images[i], TimeSpan.FromMinutes(10 - i)); // added ten, nine and eight minutes ago
        }

        Assert.NotNull(cache.TryGet(SHA256.HashData(images[0]), out _)); // used again: now the most recent
        cache.Add(images[3], out _);

        Assert.NotNull(cache.TryGet(SHA256.HashData(images[0]), out _));
        Assert.Null(cache.TryGet(SHA256.HashData(images[1]), out _));
        Assert.NotNull(cache.TryGet(SHA256.HashData(images[2]), out _));
        Assert.NotNull(cache.TryGet(SHA256.HashData(images[3]), out _));
    }

    /// <summary>Backdates an image's use: the cache keeps each image as &lt;sha256&gt;.bin and goes by its time written.</summary>
    private void LastUsed(byte[] image, TimeSpan ago) =>
        File.SetLastWriteTimeUtc(Path.Combine(_directory, Convert.ToHexString(SHA256.HashData(image)).ToLowerInvariant() + ".bin"), DateTime.UtcNow - ago);

    [Fact]
    public void A_cache_that_cannot_be_written_says_why_instead_of_throwing()
    {
        Directory.CreateDirectory(_directory);
        string blocked = Path.Combine(_directory, "not-a-folder");
        File.WriteAllText(blocked, "a file where the cache folder should be");
        var cache = new BaseImageCache(blocked);

        Assert.False(cache.Add(TestImages.Build(), out var problem));
        Assert.Contains("could not be written", problem);
        Assert.Null(cache.TryGet(new byte[32], out _));
    }
}
