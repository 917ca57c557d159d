using ChitChat.Replication;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ChitChat.Worker.Tests;

/// <summary>
/// The sync worker's shipped <c>samples/ChitChat.Worker/appsettings.json</c>, loaded the way the worker's host loads it
/// (content root = the worker's directory, then environment variables), with replicas configured through the
/// environment as the README does.
/// </summary>
public sealed class WorkerConfigurationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "chitchat-worker-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _variables = [];

    public WorkerConfigurationTests() => Directory.CreateDirectory(_dir);

    private static string WorkerDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ChitChat.sln")))
                {
                    var worker = Path.Combine(dir.FullName, "samples", "ChitChat.Worker");
                    Assert.True(File.Exists(Path.Combine(worker, "appsettings.json")), $"no appsettings.json in {worker}");
                    return worker;
                }
            }

            throw new InvalidOperationException("repository root (ChitChat.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public void Dispose()
    {
        foreach (var name in _variables)
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_replica_configured_through_the_environment_under_another_name_is_the_only_replica()
    {
        SetEnvironment("ChitChat__Replication__Primary__ConnectionString", $"Data Source={Path.Combine(_dir, "primary.db")}");
        SetEnvironment("ChitChat__Replication__Replicas__eu__Store", "Sqlite");
        SetEnvironment("ChitChat__Replication__Replicas__eu__ConnectionString", $"Data Source={Path.Combine(_dir, "eu.db")}");
        using var host = BuildWorkerHost();

        var options = host.Services.GetRequiredService<IOptions<ReplicationOptions>>().Value;
        Assert.Equal(new[] { "eu" }, options.Replicas.Keys);
        Assert.Equal("Sqlite", options.Primary!.Store); // the rest still comes from appsettings.json

        await host.StartAsync().WaitAsync(Timeout);
        Assert.Equal(new[] { "eu" }, host.Services.GetRequiredService<IReplicationManager>().GetStatus().Select(s => s.Name));
        await host.StopAsync().WaitAsync(Timeout);
    }

    [Fact]
    public async Task Without_a_replica_in_the_environment_the_worker_fails_at_start_up_with_no_replicas_configured()
    {
        SetEnvironment("ChitChat__Replication__Primary__ConnectionString", $"Data Source={Path.Combine(_dir, "primary.db")}");
        using var host = BuildWorkerHost();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync().WaitAsync(Timeout));
        Assert.Contains("No replicas configured", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ChitChat:Replication:Replicas", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The worker's host: the default builder over the worker's directory (appsettings.json, then the environment), the SQLite provider and replication.</summary>
    private static IHost BuildWorkerHost()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = WorkerDirectory, EnvironmentName = "Production" });
        builder.Services.AddChitChat().AddSqliteStoreProvider().AddReplication();
        return builder.Build();
    }

    private void SetEnvironment(string name, string value)
    {
        _variables.Add(name);
        Environment.SetEnvironmentVariable(name, value);
    }
}
