using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ChitChat.Redis.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> child process on a free loopback port with a temporary directory and no persistence. It can be
/// killed (<see cref="Kill"/>, to simulate a crash) and started again on the same port (<see cref="RestartAsync"/>). Use it as
/// an xUnit class/assembly fixture (it starts in <see cref="InitializeAsync"/>) or create one per test with
/// <see cref="CreateUnstarted"/>. A missing or failing <c>redis-server</c> fails the test with a clear message; it never skips.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly bool _startOnInitialize;
    private readonly string _directory;
    private Process? _process;

    /// <summary>Initializes a new instance that starts the server when xUnit initializes the fixture.</summary>
    public RedisServerFixture()
        : this(startOnInitialize: true)
    {
    }

    private RedisServerFixture(bool startOnInitialize)
    {
        _startOnInitialize = startOnInitialize;
        Port = FindFreePort();
        _directory = Directory.CreateTempSubdirectory("chitchat-redis-").FullName;
    }

    /// <summary>Creates a fixture that reserves a free loopback port but does not start the server (call <see cref="StartAsync"/>).</summary>
    /// <returns>The fixture; dispose it to stop the server and delete its directory.</returns>
    public static RedisServerFixture CreateUnstarted() => new(startOnInitialize: false);

    /// <summary>Gets the path of the server executable: <c>REDIS_SERVER_PATH</c>, or <c>/usr/bin/redis-server</c>, or the first on <c>PATH</c>.</summary>
    public static string ServerPath { get; } = FindServer();

    /// <summary>Gets the loopback port, the same across restarts.</summary>
    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6399</c>.</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>Gets a value indicating whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <inheritdoc />
    public ValueTask InitializeAsync() => _startOnInitialize ? new ValueTask(StartAsync()) : ValueTask.CompletedTask;

    /// <summary>Starts the server on <see cref="Port"/> and waits until it answers PING.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the server answers.</returns>
    /// <exception cref="InvalidOperationException">redis-server is missing or does not start.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("redis-server is already running.");
        }

        if (!File.Exists(ServerPath))
        {
            throw new InvalidOperationException(
                $"redis-server was not found at '{ServerPath}'. Install it (apt-get install -y redis-server) or set REDIS_SERVER_PATH; the Redis tests need a real server.");
        }

        var logFile = Path.Combine(_directory, "redis.log");
        var start = new ProcessStartInfo(ServerPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", _directory, "--logfile", logFile,
        })
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"redis-server at '{ServerPath}' could not be started: {ex.Message}", ex);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"redis-server exited with code {_process.ExitCode} while starting on port {Port}. Log:{Environment.NewLine}{ReadLog(logFile)}");
            }

            if (await PingAsync(timeout.Token).ConfigureAwait(false))
            {
                return;
            }

            try
            {
                // Polling interval while waiting for the server to accept connections (not a synchronization sleep).
                await Task.Delay(50, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Kill();
                throw new InvalidOperationException(
                    $"redis-server did not answer PING on port {Port} within {StartTimeout.TotalSeconds:0} s. Log:{Environment.NewLine}{ReadLog(logFile)}");
            }
        }
    }

    /// <summary>Kills the server at once (a crash: no shutdown, no save) and waits for the process to exit.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Kills the server if it runs and starts a fresh one (empty data set) on the same port.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the new server answers PING.</returns>
    public Task RestartAsync(CancellationToken cancellationToken = default)
    {
        Kill();
        return StartAsync(cancellationToken);
    }

    /// <summary>Sends PING over a raw socket.</summary>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when the server answered PONG.</returns>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private static string FindServer()
    {
        var configured = Environment.GetEnvironmentVariable("REDIS_SERVER_PATH");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        const string Default = "/usr/bin/redis-server";
        if (File.Exists(Default))
        {
            return Default;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Default;
    }

    private static int FindFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string ReadLog(string logFile)
    {
        try
        {
            return File.Exists(logFile) ? File.ReadAllText(logFile) : "(no log)";
        }
        catch (IOException ex)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }
}
