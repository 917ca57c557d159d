using System.Diagnostics;
using System.Globalization;

namespace ChitChat.Sqlite.Tests;

/// <summary>Runs ChitChat.Sqlite.Writer as a separate OS process writing the same database file.</summary>
internal sealed class WriterProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];

    private WriterProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _ready.TrySetException(new InvalidOperationException($"the writer process ended before it was ready: {Output}"));
                return;
            }

            lock (_output)
            {
                _output.Add(e.Data);
            }

            if (e.Data == "ready")
            {
                _ready.TrySetResult();
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_output)
                {
                    _output.Add("stderr: " + e.Data);
                }
            }
        };
    }

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

    public static WriterProcess Start(string writerDll, string file, string room, int count, int writers, string label)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { writerDll, file, room, count.ToString(CultureInfo.InvariantCulture), writers.ToString(CultureInfo.InvariantCulture), label })
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var writer = new WriterProcess(process);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return writer;
    }

    public Task WaitReadyAsync() => _ready.Task;

    public void Go()
    {
        _process.StandardInput.WriteLine("go");
        _process.StandardInput.Flush();
    }

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        Assert.True(_process.ExitCode == 0, $"the writer process failed ({_process.ExitCode}): {Output}");
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true); // only this test's own child process
        }

        _process.Dispose();
    }
}
