// ChitChat replication worker: runs the sync service (primary -> replicas) configured from appsettings.json and
// environment variables (ChitChat__Replication__...), or with the argument "verify" compares primary and replicas once:
// prints one line and exits 0 when in sync, 1 when not, 2 on a configuration error.
// builder.AddChitChat() builds the stores ChitChat:Replication names by their Store keys; with ChitChat:Transport=Redis
// (or ChitChat:Redis:Configuration set) the Redis lease elects one active syncer across machines.
using ChitChat;
using ChitChat.Replication;
using Microsoft.Extensions.Options;

var verify = args.Length > 0 && string.Equals(args[0], "verify", StringComparison.OrdinalIgnoreCase);
var hostArgs = verify ? args[1..] : args;

// appsettings.json ships next to the binary; relative SQLite paths (data/...) resolve against the current directory,
// so the web app and this worker started from the same directory share the same files.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = hostArgs, ContentRootPath = AppContext.BaseDirectory });
if (verify)
{
    // The verdict is the only line on stdout; logs (warnings and worse) go to stderr.
    builder.Logging.ClearProviders();
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
}

builder.AddChitChat().AddReplication(o => o.RunSync = !verify);
if (!verify)
{
    builder.AddChitChatTelemetry(); // replication lag and sync metrics over OTLP when ChitChat:Telemetry:Otlp:Endpoint or OTEL_EXPORTER_OTLP_ENDPOINT is set
}

using var host = builder.Build();

if (!verify)
{
    await host.RunAsync();
    return 0;
}

ReplicationOptions options;
IReplicationManager manager;
try
{
    options = host.Services.GetRequiredService<IOptions<ReplicationOptions>>().Value;
    if (!options.Enabled)
    {
        Console.Error.WriteLine("configuration error: ChitChat:Replication:Enabled is false; nothing to verify.");
        return 2;
    }

    manager = host.Services.GetRequiredService<IReplicationManager>();
}
catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
{
    Console.Error.WriteLine($"configuration error: {ex.Message}");
    return 2;
}

using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
var report = await manager.VerifyAsync(cts.Token);
Console.WriteLine(report.Summarize());
return report.InSync ? 0 : 1;
