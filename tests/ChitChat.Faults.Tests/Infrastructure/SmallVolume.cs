using System.Diagnostics;

namespace ChitChat.Faults.Tests.Infrastructure;

/// <summary>
/// A size-limited tmpfs mounted on a fresh temp directory (<c>mount -t tmpfs -o size=…</c>; needs root and a kernel that
/// lets this process mount), filled on demand with a filler file until the file system reports ENOSPC. Dispose unmounts it
/// (lazily, if a process still holds a file open) and deletes the directory. <see cref="TryMount"/> returns the reason
/// instead when mounting is impossible, for <c>Assert.Skip</c>.
/// </summary>
internal sealed class SmallVolume : IDisposable
{
    private readonly string _filler;
    private readonly string? _image;

    private SmallVolume(string path, string? image = null)
    {
        Path = path;
        _image = image;
        _filler = System.IO.Path.Combine(path, "filler");
    }

    /// <summary>Gets the mount point.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MB, or returns why it cannot be mounted here.</summary>
    public static SmallVolume? TryMount(int megabytes, out string? problem)
    {
        var path = Directory.CreateTempSubdirectory("chitchat-faults-volume-").FullName;
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            problem = $"the volume-full test mounts a tmpfs: it needs Linux and root (running as {Environment.UserName} on {Environment.OSVersion})";
            Directory.Delete(path);
            return null;
        }

        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0777", "tmpfs", path);
        if (code != 0)
        {
            problem = $"mount -t tmpfs failed here (exit {code}: {output.Trim()}); the volume-full test needs a mountable tmpfs";
            Directory.Delete(path);
            return null;
        }

        problem = null;
        return new SmallVolume(path);
    }

    /// <summary>
    /// Mounts a small ext4 file system from an image file on a loop device with <c>errors=remount-ro</c> (what a disk with
    /// I/O errors turns into), or returns why it cannot be mounted here.
    /// </summary>
    public static SmallVolume? TryMountExt4(int megabytes, out string? problem)
    {
        var path = Directory.CreateTempSubdirectory("chitchat-faults-ext4-").FullName;
        var image = path + ".img";
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            problem = $"the I/O error test loop-mounts an ext4 image: it needs Linux and root (running as {Environment.UserName})";
            Directory.Delete(path);
            return null;
        }

        using (var file = File.Create(image))
        {
            file.SetLength(megabytes * 1024L * 1024L);
        }

        foreach (var (tool, arguments) in new[]
        {
            ("mkfs.ext4", new[] { "-q", "-F", image }),
            ("mount", new[] { "-o", "loop,errors=remount-ro", image, path }),
        })
        {
            var (code, output) = Run(tool, arguments);
            if (code != 0)
            {
                problem = $"{tool} failed here (exit {code}: {output.Trim()}); the I/O error test needs mkfs.ext4 and loop devices";
                File.Delete(image);
                Directory.Delete(path);
                return null;
            }
        }

        Run("chmod", "0777", path);
        problem = null;
        return new SmallVolume(path, image);
    }

    /// <summary>
    /// Makes ext4 report an error (<c>/sys/fs/ext4/&lt;device&gt;/trigger_fs_error</c>): with <c>errors=remount-ro</c> the
    /// kernel turns the file system read-only at once, open files included, and it cannot be made writable again while mounted.
    /// </summary>
    public void TriggerFileSystemError()
    {
        var (code, source) = Run("findmnt", "-no", "SOURCE", Path);
        Assert.True(code == 0, $"findmnt {Path}: {source}");
        var device = System.IO.Path.GetFileName(source.Trim());
        File.WriteAllText($"/sys/fs/ext4/{device}/trigger_fs_error", "chitchat fault test");
        var (_, options) = Run("findmnt", "-no", "OPTIONS", Path);
        // Newer kernels keep "rw" in the mount flags and add "emergency_ro"; older ones show "ro".
        Assert.True(options.StartsWith("ro", StringComparison.Ordinal) || options.Contains("emergency_ro", StringComparison.Ordinal), $"{Path} is not read-only after the ext4 error: {options}");
    }

    /// <summary>Unmounts the file system, checks it (<c>e2fsck -fy</c>) and mounts it again, writable.</summary>
    public void Remount()
    {
        Assert.NotNull(_image);
        foreach (var (tool, arguments) in new[]
        {
            ("umount", new[] { Path }),
            ("e2fsck", new[] { "-fy", _image }),
            ("mount", new[] { "-o", "loop,errors=remount-ro", _image, Path }),
        })
        {
            var (code, output) = Run(tool, arguments);
            Assert.True(code == 0 || (tool == "e2fsck" && code is 1 or 2), $"{tool} {string.Join(' ', arguments)} exited with {code}: {output}");
        }
    }

    /// <summary>Writes the filler file until the volume is full (ENOSPC); returns the bytes written.</summary>
    public long Fill()
    {
        var chunk = new byte[64 * 1024];
        long written = 0;
        using var file = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        while (true)
        {
            try
            {
                file.Write(chunk);
                written += chunk.Length;
            }
            catch (IOException)
            {
                // ENOSPC: fill the last partial space byte by byte would be slow; 4 KiB pages are the unit of tmpfs anyway.
                var page = new byte[4096];
                try
                {
                    while (true)
                    {
                        file.Write(page);
                        written += page.Length;
                    }
                }
                catch (IOException)
                {
                    return written;
                }
            }
        }
    }

    /// <summary>Deletes the filler file: the space is free again.</summary>
    public void Free() => File.Delete(_filler);

    public void Dispose()
    {
        var (code, _) = Run("umount", Path);
        if (code != 0)
        {
            Run("umount", "-l", Path); // a killed process's files may still be closing
        }

        try
        {
            Directory.Delete(Path, recursive: true);
            if (_image is not null)
            {
                File.Delete(_image);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static (int Code, string Output) Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill();
                return (-1, $"{file} did not finish within 30 s");
            }

            return (process.ExitCode, output.Result + error.Result);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, $"{file}: {ex.Message}");
        }
    }
}
