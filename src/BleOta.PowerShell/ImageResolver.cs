using System.Management.Automation;
using BleOta.Engine.Image;

namespace BleOta;

/// <summary>
/// Turns -Path / -LiteralPath into firmware images, one ErrorRecord per bad path, before anything is sent to a
/// device. Each file is read and checked once per pipeline, however many devices take it.
/// </summary>
internal sealed class ImageResolver(PSCmdlet cmdlet)
{
    private readonly Dictionary<string, FirmwareImage?> _byPath = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unresolved = new(StringComparer.Ordinal);

    /// <summary>Every file these paths name, parsed, valid or not; paths that name no readable file are reported and left out.</summary>
    public List<FirmwareImage> Read(IEnumerable<string> paths, bool literal)
    {
        var images = new List<FirmwareImage>();
        foreach (string path in paths)
        {
            foreach (string file in ProviderPaths(path, literal))
            {
                if (!_byPath.TryGetValue(file, out var image))
                {
                    image = Load(file);
                    _byPath[file] = image;
                }

                if (image is not null)
                {
                    images.Add(image);
                }
            }
        }

        return images;
    }

    /// <summary>The images these paths name that a device would boot; the others are reported (once) and left out.</summary>
    public List<FirmwareImage> Resolve(IEnumerable<string> paths, bool literal) =>
        Read(paths, literal).Where(image => image.IsValid || Refuse(image)).ToList();

    private IEnumerable<string> ProviderPaths(string path, bool literal)
    {
        ProviderInfo provider;
        List<string> files;
        try
        {
            if (literal)
            {
                files = [cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _)];
            }
            else
            {
                files = [.. cmdlet.SessionState.Path.GetResolvedProviderPathFromPSPath(path, out provider)];
            }
        }
        catch (Exception ex) when (ex is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
        {
            WriteNotFound(path);
            return [];
        }

        if (provider.Name != "FileSystem")
        {
            if (_unresolved.Add(path))
            {
                cmdlet.WriteError(new ErrorRecord(new ArgumentException($"'{path}' is not a file system path. Give the path of a firmware .bin file."),
                    ErrorIds.ImageNotFound, ErrorCategory.InvalidArgument, path));
            }

            return [];
        }

        if (files.Count == 0)
        {
            WriteNotFound(path);
        }

        return files;
    }

    /// <summary>Reports a path that names no file, once per pipeline however many devices were to take it.</summary>
    private void WriteNotFound(string path)
    {
        if (_unresolved.Add(path))
        {
            cmdlet.WriteError(new ErrorRecord(new FileNotFoundException($"Cannot find the firmware image '{path}'. Check the path; with -Path, wildcards must match at least one file."),
                ErrorIds.ImageNotFound, ErrorCategory.ObjectNotFound, path));
        }
    }

    private FirmwareImage? Load(string file)
    {
        if (Directory.Exists(file))
        {
            return Fail(new ArgumentException($"'{file}' is a directory. Give the firmware .bin file inside it (e.g. build/<project>.bin)."),
                ErrorIds.ImagePathIsDirectory, ErrorCategory.InvalidArgument, file);
        }

        if (!File.Exists(file))
        {
            WriteNotFound(file);
            return null;
        }

        try
        {
            var image = FirmwareImage.Load(file);
            DebugSafeStreams.Verbose(cmdlet, image.IsValid
                ? $"Read {file}: {image.App!.ProjectName} {image.Version} for {image.Chip.ToDisplayName()}, {image.Length:N0} bytes."
                : $"Read {file}: {image.Length:N0} bytes, not a valid app image.");
            return image;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail(new IOException($"Cannot read '{file}': {ex.Message}", ex), ErrorIds.ImageUnreadable, ErrorCategory.ReadError, file);
        }
    }

    /// <summary>Reports why an image cannot be sent, once per file; always false, so it reads as a filter.</summary>
    private bool Refuse(FirmwareImage image)
    {
        string file = image.Path!;
        if (!_refused.Add(file))
        {
            return false;
        }

        var error = image.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error);
        _ = error.Problem switch
        {
            ImageProblem.Empty => Fail(new InvalidDataException($"'{file}' is empty. Rebuild the firmware (idf.py build) and use build/<project>.bin."),
                ErrorIds.ImageEmpty, ErrorCategory.InvalidData, file),
            ImageProblem.BadMagic => Fail(new InvalidDataException($"'{file}' is not an ESP32 app image: {error.Message} Use the app .bin from idf.py build, not the .elf, a bootloader or a merged flash image."),
                ErrorIds.ImageNotEsp, ErrorCategory.InvalidData, file),
            ImageProblem.Bootloader or ImageProblem.RamOnlyApp or ImageProblem.MergedFlashImage or ImageProblem.NoAppDescription => Fail(
                new InvalidDataException($"'{file}' is not an app image and was not sent: {error.Message} Send the app image that idf.py build writes as build/<project>.bin, not bootloader/bootloader.bin, a merged flash image or the .elf."),
                ErrorIds.ImageNotAnApp, ErrorCategory.InvalidData, file),
            _ => Fail(new InvalidDataException($"'{file}' is damaged and was not sent: {error.Message} Copy or rebuild it and try again."),
                ErrorIds.ImageDamaged, ErrorCategory.InvalidData, file),
        };
        return false;
    }

    private FirmwareImage? Fail(Exception exception, string errorId, ErrorCategory category, string file)
    {
        cmdlet.WriteError(new ErrorRecord(exception, errorId, category, file));
        return null;
    }
}
