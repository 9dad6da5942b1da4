using System.Collections.Concurrent;
using BleOta.Engine.Delta;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;

namespace BleOta.Engine.Session;

/// <summary>What a v2 update sends: the stream that goes on air and, for a patch, the base it names.</summary>
internal sealed record TransferPlan(OtaTransfer Kind, byte[] Stream, byte[]? BaseSha256)
{
    public bool Compressed => Kind == OtaTransfer.Compressed;
}

/// <summary>
/// Decides between the whole image (deflated when the device inflates) and a delta patch against the image the
/// device runs, saying why in the verbose stream. A patch needs a device that takes them, its running image among
/// <see cref="OtaOptions.BaseImages"/> or in <see cref="OtaOptions.ImageCache"/>, and to be at most
/// <see cref="DeltaWorthIt"/> of the whole stream; otherwise the whole image goes, never a failure. Patches and
/// compressed streams are made once per pair of images, however many devices get them.
/// </summary>
internal sealed class TransferPlanner
{
    /// <summary>A patch is sent only when it is at most this share of what would be sent otherwise.</summary>
    public const double DeltaWorthIt = 0.75;

    /// <summary>
    /// A deflate stream is sent only when it is at most this share of the image: a compressed update halves the
    /// device's receive ring (its inflater takes the RAM), which a few percent fewer bytes do not pay for.
    /// </summary>
    public const double DeflateWorthIt = 0.9;

    private readonly ConcurrentDictionary<string, Lazy<byte[]>> _streams = new();
    private readonly BaseImageIndex _bases = new();

    public TransferPlan Plan(FirmwareImage image, DeviceInfo info, OtaOptions options)
    {
        var full = Full(image, info, options);
        if (options.Delta == DeltaMode.Off)
        {
            options.Log.Debug("-Delta Off: sending the whole image.");
            return full;
        }

        var log = options.Log;
        if (!info.Features.HasFlag(DeviceFeatures.Delta) || info.RunningImageSha256 is not { } baseSha)
        {
            log.Verbose("The device's firmware does not take delta patches: sending the whole image.");
            return full;
        }

        string baseHex = Convert.ToHexString(baseSha).ToLowerInvariant();
        var found = FindBase(baseSha, options);
        if (found is not { } baseImage)
        {
            log.Verbose($"The image the device runs (SHA-256 {baseHex[..16]}...) is not among -BaseImage or in the image cache ({options.ImageCache?.Directory ?? "none"}): sending the whole image. Later updates from this computer can send patches.");
            return full;
        }

        var patch = Stream($"delta:{baseHex}:{Hex(image.FileSha256)}", () => DeltaPatch.Create(baseImage.Image, image.Bytes));
        string what = full.Compressed ? "the compressed image" : "the image";
        if (patch.Length > full.Stream.Length * DeltaWorthIt)
        {
            log.Verbose($"A patch against the running image would be {patch.Length:N0} bytes, not clearly smaller than {what} ({full.Stream.Length:N0} bytes): sending the whole image.");
            return full;
        }

        log.Verbose($"Sending a delta patch against the image the device runs ({baseImage.Source}): {patch.Length:N0} bytes instead of {what}'s {full.Stream.Length:N0} ({100.0 * patch.Length / image.Length:0.#} % of the image).");
        return new TransferPlan(OtaTransfer.Delta, patch, baseSha);
    }

    /// <summary>
    /// The whole image: deflated when the device inflates (Info bit 4, or bit 0 of earlier firmware: an 8 KB-window
    /// stream suits both), compression is allowed and the stream is at most <see cref="DeflateWorthIt"/> of the image.
    /// </summary>
    public TransferPlan Full(FirmwareImage image, DeviceInfo info, OtaOptions options)
    {
        bool inflates = (info.Features & (DeviceFeatures.Deflate8K | DeviceFeatures.Compression)) != 0;
        if (!options.AllowCompression || !inflates)
        {
            return new TransferPlan(OtaTransfer.Full, image.Bytes, null);
        }

        var deflated = Stream($"deflate:{Hex(image.FileSha256)}", () => V2Client.Compress(image.Bytes));
        if (deflated.Length > image.Length * DeflateWorthIt)
        {
            options.Log.Verbose($"The image hardly compresses ({deflated.Length:N0} bytes deflated of {image.Length:N0}): sending it as it is.");
            return new TransferPlan(OtaTransfer.Full, image.Bytes, null);
        }

        return new TransferPlan(OtaTransfer.Compressed, deflated, null);
    }

    private (byte[] Image, string Source)? FindBase(byte[] sha256, OtaOptions options)
    {
        if (_bases.Find(options.BaseImages, sha256) is { } given)
        {
            return (given.Image, given.Path);
        }

        if (options.ImageCache is not { } cache)
        {
            return null;
        }

        var cached = cache.TryGet(sha256, out string? problem);
        if (problem is not null)
        {
            options.Log.Verbose($"The image cache did not help: {problem}.");
        }

        return cached is null ? null : (cached, $"cached in {cache.Directory}");
    }

    private byte[] Stream(string key, Func<byte[]> make) => _streams.GetOrAdd(key, _ => new Lazy<byte[]>(make)).Value;

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
