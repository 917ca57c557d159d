using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace ChitChat.Faults.Tests.Infrastructure;

/// <summary>
/// A sample (<c>samples/ChitChat.Web</c> or <c>samples/ChitChat.Worker</c>) run from its build output as a process of its
/// own: the app host itself, never <c>dotnet run</c>, so <see cref="Id"/> is the app's real pid and <see cref="Kill"/> is a
/// <c>kill -9</c> of it. Configured only through environment variables (<c>ChitChat__...</c>), as an operator would; the
/// test host's own ChitChat and ASP.NET Core variables never leak in. Dispose kills it if it still runs.
/// </summary>
internal sealed partial class NodeProcess : IAsyncDisposable
{
    /// <summary>The signing key every node of a test shares (a token of one node is accepted by the others).</summary>
    public const string SigningKey = "chitchat-faults-tests-signing-key-0123456789abcdef";

    /// <summary>The uid and gid of <c>nobody</c>.</summary>
    public const int Nobody = 65534;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private const int KeptLines = 400;

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>Gets the name used in failure messages (e.g. <c>node A</c>).</summary>
    public string Name { get; }

    /// <summary>Gets the process id (the app's own).</summary>
    public int Id { get; private set; }

    /// <summary>Gets the address a web node listens on, with a trailing slash.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Gets a value indicating whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets the last lines the process wrote (standard output and error).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Gets the exit code (137 after a SIGKILL).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The settings of a web node on the shared SQLite file <paramref name="database"/>, with the Redis transport when <paramref name="redis"/> is given.</summary>
    public static Dictionary<string, string> WebSettings(string database, string? redis) => new()
    {
        ["ChitChat__Store"] = "Sqlite",
        ["ChitChat__Sqlite__ConnectionString"] = $"Data Source={database}",
        ["ChitChat__Transport"] = redis is null ? "InProcess" : "Redis",
        ["ChitChat__Redis__Configuration"] = redis ?? "",
        ["ChitChat__Auth__SigningKey"] = SigningKey,
        ["ChitChat__Auth__RateLimit"] = "0",
        ["ChitChat__SendRateLimit"] = "0",
        ["ChitChat__PasswordHashIterations"] = "1000",
    };

    /// <summary>Starts <c>samples/ChitChat.Web</c> on <c>http://127.0.0.1:0</c> and waits until Kestrel listens.</summary>
    /// <param name="name">The name used in failure messages.</param>
    /// <param name="settings">Environment variables.</param>
    /// <param name="runAsNobody">Runs the node as the unprivileged user <c>nobody</c> (<c>setpriv</c>), so that file permissions apply to it.</param>
    public static async Task<NodeProcess> StartWebAsync(string name, IReadOnlyDictionary<string, string> settings, bool runAsNobody = false)
    {
        var node = Start(name, "ChitChat.Web", settings, runAsNobody, "--urls", "http://127.0.0.1:0");
        try
        {
            node.Address = await node._listening.Task.WaitAsync(StartTimeout);
            return node;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var output = await node.StopAndReadAsync();
            Assert.Fail($"start of {name}: {(ex is TimeoutException ? $"not listening within {StartTimeout}" : ex.Message)}.\n{output}");
            throw;
        }
    }

    /// <summary>Starts <c>samples/ChitChat.Worker</c> and waits until its host started (the sync service runs from then on).</summary>
    public static async Task<NodeProcess> StartWorkerAsync(string name, IReadOnlyDictionary<string, string> settings)
    {
        var node = Start(name, "ChitChat.Worker", settings, runAsNobody: false);
        try
        {
            await node._started.Task.WaitAsync(StartTimeout);
            return node;
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var output = await node.StopAndReadAsync();
            Assert.Fail($"start of {name}: {(ex is TimeoutException ? $"not started within {StartTimeout}" : ex.Message)}.\n{output}");
            throw;
        }
    }

    /// <summary>Kills the process with SIGKILL (no shutdown, no flush, no disposal) and waits until it is gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false); // SIGKILL on Linux
        }

        Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(30)), $"{Name} (pid {Id}) did not exit within 30 s of SIGKILL");
    }

    public async ValueTask DisposeAsync() => await StopAndReadAsync();

    private async Task<string> StopAndReadAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
            // never started or already disposed
        }
        catch (TimeoutException)
        {
        }

        var output = Output;
        _process.Dispose();
        return output;
    }

    private static NodeProcess Start(string name, string project, IReadOnlyDictionary<string, string> settings, bool runAsNobody, params string[] arguments)
    {
        var directory = Repository.SampleOutput(project);
        var appHost = Path.Combine(directory, project);
        var command = File.Exists(appHost)
            ? new List<string> { appHost }
            : [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(directory, project + ".dll")];
        if (runAsNobody)
        {
            // setpriv execs the app: the pid stays the app's own.
            command.InsertRange(0, ["setpriv", $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--"]);
        }

        var start = new ProcessStartInfo(command[0]);
        foreach (var part in command.Skip(1))
        {
            start.ArgumentList.Add(part);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.WorkingDirectory = directory;
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        foreach (var key in start.Environment.Keys.ToArray())
        {
            if (key.StartsWith("ChitChat__", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase))
            {
                start.Environment.Remove(key);
            }
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var node = new NodeProcess(name, process);
        process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            node._listening.TrySetException(new InvalidOperationException($"{name} exited before listening"));
            node._started.TrySetException(new InvalidOperationException($"{name} exited before its host started"));
        };
        Assert.True(process.Start(), $"start of {name}: could not start {start.FileName}");
        node.Id = process.Id;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > KeptLines)
            {
                _output.Dequeue();
            }
        }

        if (ListeningOn().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
        }

        if (line.Contains("Application started", StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}

/// <summary>Paths in the repository the tests run in.</summary>
internal static class Repository
{
    /// <summary>Gets the repository root (the directory of <c>ChitChat.sln</c>).</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Gets the build output directory of a sample in the test's own configuration, failing clearly when it is not built.</summary>
    public static string SampleOutput(string project)
    {
        // The tests run from tests/ChitChat.Faults.Tests/bin/<Configuration>/net10.0/: the samples are built next to them.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        var directory = Path.Combine(Root, "samples", project, "bin", configuration, framework.Name);
        Assert.True(File.Exists(Path.Combine(directory, project + ".dll")), $"{project} is not built in {directory}: build the solution (or tests/ChitChat.Faults.Tests) first");
        return directory;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ChitChat.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root (ChitChat.sln) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A directory under the system temp folder, deleted (best effort) on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "chitchat-faults-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public string Path { get; }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
