using System.Text;

namespace Dataplane.Config;

/// <summary>Reads a config file from disk and parses it.</summary>
internal static class ConfigFile
{
    /// <summary>A config is a page of text; anything near this size is the wrong file.</summary>
    public const int MaxBytes = 4 << 20;

    /// <summary>
    /// Reads and parses <paramref name="path"/>. False, with <paramref name="reason"/> in the words
    /// of the C library's strerror, when the file cannot be read at all.
    /// </summary>
    public static bool TryLoad(string path, out ConfigResult result, out string reason)
    {
        result = new ConfigResult(DataplaneConfig.Empty, []);
        if (!TryRead(path, out string text, out reason))
            return false;
        result = ConfigParser.Parse(path, text);
        return true;
    }

    /// <summary>Reads the whole file as UTF-8, refusing directories and files over <see cref="MaxBytes"/>.</summary>
    public static bool TryRead(string path, out string text, out string reason)
    {
        text = "";
        reason = "";
        if (path.Length == 0)
        {
            reason = "no such file or directory";
            return false;
        }
        if (Directory.Exists(path))
        {
            reason = "is a directory";
            return false;
        }
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            var buffer = new MemoryStream();
            // Read with a limit rather than trusting Length: /dev/zero and pipes have none.
            byte[] chunk = new byte[64 * 1024];
            int n;
            while ((n = stream.Read(chunk)) > 0)
            {
                if (buffer.Length + n > MaxBytes)
                {
                    reason = $"file is larger than {MaxBytes >> 20} MiB";
                    return false;
                }
                buffer.Write(chunk, 0, n);
            }
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            if (text.StartsWith('\uFEFF'))
                text = text[1..];
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            // Our own words: the runtime's messages are resource keys in the trimmed binary.
            reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
                UnauthorizedAccessException => "permission denied",
                PathTooLongException => "file name too long",
                IOException io when io.Message.Length > 0 && !io.Message.Contains('_', StringComparison.Ordinal) => io.Message,
                _ => "input/output error",
            };
            return false;
        }
    }
}
