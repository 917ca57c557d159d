// Every await here is bounded by its own WaitAsync/timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace ChitChat.Console.Tests;

/// <summary>The console client (ChitChat.Console.dll, built next to the tests) run as a process in <c>--json</c> mode.</summary>
public sealed class ConsoleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _stdout = Channel.CreateUnbounded<string>();
    private readonly ConcurrentQueue<string> _stderrLines = new();
    private readonly StringBuilder _allStdout = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly SemaphoreSlim _stderrChanged = new(0);
    private volatile bool _stderrClosed;

    private ConsoleProcess(Process process)
    {
        _process = process;
        _stdoutPump = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_allStdout)
                {
                    _allStdout.AppendLine(line);
                }

                _stdout.Writer.TryWrite(line);
            }

            _stdout.Writer.TryComplete();
        });
        _stderrPump = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                _stderrLines.Enqueue(line);
                _stderrChanged.Release();
            }

            _stderrClosed = true;
            _stderrChanged.Release();
        });
    }

    public string Stderr => string.Join(Environment.NewLine, _stderrLines);

    public static ConsoleProcess Start(Uri server, string user, bool register, params string[] extra)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ChitChat.Console.dll");
        Assert.True(File.Exists(dll), $"The console client was not built next to the tests: {dll}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in new[] { dll, "--json", "--server", server.ToString(), "--user", user }.Concat(register ? ["--register"] : []).Concat(extra))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CHITCHAT_PASSWORD"] = "password-123";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.StandardInput.AutoFlush = true;
        return new ConsoleProcess(process);
    }

    public Task SendLineAsync(string line) => _process.StandardInput.WriteLineAsync(line).WaitAsync(ServerFixture.Timeout);

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Reads the next stdout line, which must be one JSON message.</summary>
    public async Task<JsonElement> NextMessageAsync(string phase)
    {
        using var cts = new CancellationTokenSource(ServerFixture.Timeout);
        try
        {
            var line = await _stdout.Reader.ReadAsync(cts.Token);
            return JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{phase}: no stdout line within {ServerFixture.Timeout}. stderr:\n{Stderr}");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"{phase}: the console exited. stderr:\n{Stderr}");
        }
    }

    /// <summary>Waits until stderr has a line matching <paramref name="predicate"/> (counting from the start).</summary>
    public async Task WaitForStderrAsync(Func<string, bool> predicate, string phase, int count = 1)
    {
        using var cts = new CancellationTokenSource(ServerFixture.Timeout);
        while (_stderrLines.Count(predicate) < count)
        {
            if (_stderrClosed)
            {
                throw new InvalidOperationException($"{phase}: the console closed stderr (exited). stderr:\n{Stderr}");
            }

            try
            {
                await _stderrChanged.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{phase}: stderr line not seen within {ServerFixture.Timeout}. stderr:\n{Stderr}");
            }
        }
    }

    public async Task<int> WaitForExitAsync(string phase)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(ServerFixture.Timeout);
            await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(ServerFixture.Timeout);
            return _process.ExitCode;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{phase}: the console did not exit within {ServerFixture.Timeout}. stderr:\n{Stderr}");
        }
    }

    public async Task ExpectExitAsync(int expected, string phase)
    {
        var code = await WaitForExitAsync(phase);
        Assert.True(code == expected, $"{phase}: exit code {code}, expected {expected}. stderr:\n{Stderr}");
    }

    /// <summary>Every remaining stdout line after exit.</summary>
    public List<string> RemainingLines()
    {
        var lines = new List<string>();
        while (_stdout.Reader.TryRead(out var line))
        {
            lines.Add(line);
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(ServerFixture.Timeout);
        }

        _process.Dispose();
    }
}
