using ChitChat.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Replication.Tests;

/// <summary>Replication configured from configuration in a real Generic Host, with the hosted sync service running.</summary>
public sealed class HostingTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddChitChat().AddSqliteStoreProvider().AddReplication();
        return builder.Build();
    }

    private Dictionary<string, string?> SqliteSettings() => new()
    {
        ["ChitChat:Replication:Primary:Store"] = "Sqlite",
        ["ChitChat:Replication:Primary:ConnectionString"] = _dir.ConnectionString("primary"),
        ["ChitChat:Replication:Replicas:r1:Store"] = "Sqlite",
        ["ChitChat:Replication:Replicas:r1:ConnectionString"] = _dir.ConnectionString("r1"),
        ["ChitChat:Replication:ReadPreference"] = "ReplicaPreferred",
        ["ChitChat:Replication:MaxStaleness"] = "00:00:30",
        ["ChitChat:Replication:SyncInterval"] = "00:00:00.050",
        ["ChitChat:Replication:BatchSize"] = "200",
    };

    [Fact]
    public async Task Writes_continue_while_the_hosted_sync_runs_and_lag_returns_to_zero()
    {
        using var host = BuildHost(SqliteSettings());
        using var lag = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "ChitChat", ReplicationMetrics.LagDocumentsName);
        using var synced = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "ChitChat", ReplicationMetrics.DocumentsSyncedName);
        await host.StartAsync().WaitAsync(Timeout);
        var router = host.Services.GetRequiredService<IChatStore>();
        Assert.Equal("replicated-sqlite", router.ProviderName);
        var manager = host.Services.GetRequiredService<IReplicationManager>();

        var users = await SqliteReplicationTests.CreateUsersAsync(router, 4);
        var rooms = await SqliteReplicationTests.CreateRoomsAsync(router, 5);
        var written = 0;
        var lagSeen = false;
        for (var wave = 0; wave < 15; wave++)
        {
            // 100 messages per wave while the sync service keeps running; read back through the router (read-your-writes).
            var sent = await SqliteReplicationTests.WriteMessagesAsync(router, users, rooms, 100, $"w{wave}");
            written += sent.Count;
            var last = sent[^1];
            var page = await router.Messages.QueryAsync(last.Room, new MessageQuery(last.Seq - 1, null, 5)).WaitAsync(Timeout);
            Assert.Equal(last, page[0]);
            lag.RecordObservableInstruments();
            lagSeen |= lag.GetMeasurementSnapshot().Any(m => m.Tags["replica"] is "r1" && m.Value > 0);
        }

        var primary = ((ReplicatedChatStore)router).ReplicaSet.Primary.Store;
        var head = await primary.Replication.GetHeadPositionAsync().WaitAsync(Timeout);
        await Data.WaitUntilAsync(async () =>
        {
            lag.RecordObservableInstruments();
            var status = manager.GetStatus().Single();
            return await Task.FromResult(status.AppliedPosition >= head && status.LagDocuments == 0);
        }, "replica r1 catches up with the primary head after the writes stop");

        lag.RecordObservableInstruments();
        Assert.Equal(0, lag.LastMeasurement!.Value);
        Assert.Equal("r1", lag.LastMeasurement.Tags["replica"]);
        Assert.True(lagSeen || synced.GetMeasurementSnapshot().Count > 1, "lag was never observed above zero and sync never ran incrementally");
        Assert.True(synced.GetMeasurementSnapshot().Sum(m => m.Value) >= written);
        var verify = await manager.VerifyAsync().WaitAsync(Timeout);
        Assert.True(verify.InSync, verify.Summarize());

        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "replication").WaitAsync(Timeout);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        await host.StopAsync().WaitAsync(Timeout);
    }

    [Fact]
    public void RepairPrimary_is_off_by_default_and_bound_from_configuration()
    {
        using (var host = BuildHost(SqliteSettings()))
        {
            Assert.False(host.Services.GetRequiredService<IOptions<ReplicationOptions>>().Value.RepairPrimary);
        }

        var settings = SqliteSettings();
        settings["ChitChat:Replication:RepairPrimary"] = "true";
        using var enabled = BuildHost(settings);
        Assert.True(enabled.Services.GetRequiredService<IOptions<ReplicationOptions>>().Value.RepairPrimary);
    }

    [Fact]
    public async Task Invalid_configuration_fails_at_start_with_the_key_names()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ChitChat:Replication:BatchSize"] = "0",
            ["ChitChat:Replication:MaxStaleness"] = "-00:00:01",
        };
        using var host = BuildHost(settings);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Contains("ChitChat:Replication:Primary is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ChitChat:Replication:Replicas must name at least one replica", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ChitChat:Replication:BatchSize", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ChitChat:Replication:MaxStaleness", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_store_provider_names_the_registered_ones()
    {
        var settings = SqliteSettings();
        settings["ChitChat:Replication:Replicas:r1:Store"] = "Cassandra";
        using var host = BuildHost(settings);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Contains("'Cassandra'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Sqlite", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabled_replication_keeps_the_store_registered_before_it()
    {
        var settings = new Dictionary<string, string?> { ["ChitChat:Replication:Enabled"] = "false" };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddChitChat().UseInMemoryStore().AddReplication();
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Timeout);
        Assert.Equal("inmemory", host.Services.GetRequiredService<IChatStore>().ProviderName);
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "replication").WaitAsync(Timeout);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        await host.StopAsync().WaitAsync(Timeout);
    }

    [Fact]
    public void Options_validation_rejects_a_replica_pointing_at_the_primary()
    {
        var options = new ReplicationOptions { Primary = new ChatStoreSettings { Store = "Sqlite", ConnectionString = "Data Source=a.db" } };
        options.Replicas["r1"] = new ChatStoreSettings { Store = "sqlite", ConnectionString = "Data Source=a.db" };
        options.Replicas["bad name!"] = new ChatStoreSettings { Store = "Sqlite", ConnectionString = "Data Source=b.db" };
        var result = new ReplicationOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Replicas:r1 points at the same database", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Replicas:bad name!", StringComparison.Ordinal));

        var good = new ReplicationOptions { Primary = new ChatStoreSettings { Store = "Sqlite", ConnectionString = "Data Source=a.db" } };
        good.Replicas["r1"] = new ChatStoreSettings { Store = "Sqlite", ConnectionString = "Data Source=b.db" };
        Assert.True(new ReplicationOptionsValidator().Validate(null, good).Succeeded);
    }
}
