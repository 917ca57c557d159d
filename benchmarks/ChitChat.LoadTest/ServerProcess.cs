using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ChitChat.LoadTest;

/// <summary>The kind of server under test.</summary>
internal enum Target
{
    /// <summary>ChitChat (benchmarks/ChitChat.LoadTest.Server): durable, sequenced, authorized.</summary>
    ChitChat,

    /// <summary>A plain SignalR hub (benchmarks/ChitChat.LoadTest.Baseline, <c>/hubs/chat</c>): no persistence.</summary>
    SignalR,

    /// <summary>A plain Kestrel WebSocket broadcast of pre-serialized frames (the baseline process, <c>/ws</c>): the
    /// practical upper bound of this machine.</summary>
    WebSocket,
}

/// <summary>A server node started as a child process on a free loopback port.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _tempDir;

    private ServerProcess(Process process, Uri url, string tempDir)
    {
        _process = process;
        Url = url;
        _tempDir = tempDir;
    }

    public Uri Url { get; }

    /// <summary>Extra configuration for ChitChat nodes (key=value, e.g. ChitChat:Hub:MaximumParallelInvocationsPerClient).</summary>
    public static IReadOnlyDictionary<string, string> ExtraChitChatSettings { get; set; } = new Dictionary<string, string>();

    public int Pid => _process.Id;

    /// <summary>Gets or sets the CPUs (a <c>taskset -c</c> list such as <c>1</c> or <c>2-3</c>) server processes are
    /// pinned to, or <see langword="null"/> to leave them unpinned.</summary>
    public static string? ServerCpus { get; set; }

    /// <summary>Starts <paramref name="fileName"/>, under <c>taskset -c <see cref="ServerCpus"/></c> when set, so that
    /// every thread of the child (started later by the runtime) inherits the affinity.</summary>
    public static ProcessStartInfo Pinned(string fileName)
    {
        var psi = new ProcessStartInfo(ServerCpus is null ? fileName : "taskset") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (ServerCpus is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(ServerCpus);
            psi.ArgumentList.Add(fileName);
        }

        return psi;
    }

    public static async Task<ServerProcess> StartAsync(Target target, string signingKey, string? redis, string? sharedDb, string configuration, CancellationToken ct)
    {
        var port = FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var tempDir = Directory.CreateTempSubdirectory("chitchat-load-").FullName;
        var project = target == Target.ChitChat ? "ChitChat.LoadTest.Server" : "ChitChat.LoadTest.Baseline";
        var dll = LocateDll(project, configuration);
        var psi = Pinned("dotnet");
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add(url.ToString());
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        psi.Environment["DOTNET_gcServer"] = "1";
        if (target == Target.ChitChat)
        {
            psi.ArgumentList.Add("--db");
            psi.ArgumentList.Add(sharedDb ?? Path.Combine(tempDir, "chitchat.db"));
            psi.Environment["ChitChat__Auth__SigningKey"] = signingKey;
            psi.Environment["ChitChat__PasswordHashIterations"] = "1000";
            psi.Environment["ChitChat__SendRateLimit"] = "0";
            psi.Environment["ChitChat__Auth__RateLimit"] = "0";
            psi.Environment["ChitChat__MaxMessageLength"] = "4000";
            foreach (var (key, value) in ExtraChitChatSettings)
            {
                psi.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            }
        }
        else
        {
            psi.ArgumentList.Add("--signing-key");
            psi.ArgumentList.Add(signingKey);
        }

        if (!string.IsNullOrEmpty(redis))
        {
            psi.ArgumentList.Add("--redis");
            psi.ArgumentList.Add(redis);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, url, tempDir);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{project} exited with {process.ExitCode}:\n{log}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(url, "/health"), ct);
                if ((int)response.StatusCode < 500)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new TimeoutException($"{project} did not answer /health within 60 s:\n{log}");
            }

            await Task.Delay(100, ct); // polling a child process for readiness, not synchronizing a test
        }
    }

    /// <summary>CPU time the process has used so far.</summary>
    public TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Resident set size in bytes, from /proc.</summary>
    public long RssBytes
    {
        get
        {
            var status = File.ReadAllLines($"/proc/{_process.Id}/status");
            var line = status.First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return kb * 1024;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string LocateDll(string project, string configuration)
    {
        // benchmarks/ChitChat.LoadTest/bin/<cfg>/net10.0/ -> benchmarks/<project>/bin/<cfg>/net10.0/<project>.dll
        var baseDir = AppContext.BaseDirectory;
        var candidate = Path.GetFullPath(Path.Combine(baseDir, "..", "..", "..", "..", project, "bin", configuration, "net10.0", project + ".dll"));
        if (File.Exists(candidate))
        {
            return candidate;
        }

        foreach (var cfg in new[] { "Release", "Debug" })
        {
            candidate = Path.GetFullPath(Path.Combine(baseDir, "..", "..", "..", "..", project, "bin", cfg, "net10.0", project + ".dll"));
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"Build {project} first (dotnet build -c {configuration} benchmarks/ChitChat.LoadTest builds it).", candidate);
    }
}

/// <summary>A throw-away redis-server for the multi-node scenario.</summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private RedisProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Configuration = $"127.0.0.1:{port}";
    }

    public string Configuration { get; }

    public static async Task<RedisProcess> StartAsync()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        var dir = Directory.CreateTempSubdirectory("chitchat-load-redis-").FullName;
        var psi = ServerProcess.Pinned("redis-server");
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server)");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return new RedisProcess(process, dir, port);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        process.Kill();
        throw new TimeoutException("redis-server did not accept connections");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
