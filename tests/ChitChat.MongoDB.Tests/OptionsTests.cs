using ChitChat.MongoDB;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MongoDB.Driver;

namespace ChitChat.MongoDB.Tests;

/// <summary>Options are validated when the host starts; connection-string settings resolve as documented. No server needed.</summary>
public sealed class OptionsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static async Task<OptionsValidationException> StartAndExpectFailureAsync(Action<MongoChatStoreOptions>? configure, params (string Key, string? Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        var chat = builder.Services.AddChitChat();
        if (configure is null)
        {
            chat.UseMongoDB();
        }
        else
        {
            chat.UseMongoDB(configure);
        }

        using var host = builder.Build();
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Host_start_fails_without_a_connection_string()
    {
        var ex = await StartAndExpectFailureAsync(null);

        Assert.Contains("ChitChat:MongoDB:ConnectionString is required", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("http://127.0.0.1:27017")]
    [InlineData("mongodb://")]
    [InlineData("mongodb://alice:s3cret@127.0.0.1:27017/?unknownOption=1&w=")]
    public async Task Host_start_fails_for_a_bad_connection_string_without_echoing_it(string connectionString)
    {
        var ex = await StartAndExpectFailureAsync(null, ("ChitChat:MongoDB:ConnectionString", connectionString));

        Assert.Contains("ChitChat:MongoDB:ConnectionString is not a valid MongoDB connection string", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(connectionString, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("chat.app")]
    [InlineData("chat app")]
    [InlineData("chat/app")]
    [InlineData("chat$")]
    [InlineData("a123456789b123456789c123456789d123456789e123456789f123456789xyzw")]
    public async Task Host_start_fails_for_an_invalid_database_name(string database)
    {
        var ex = await StartAndExpectFailureAsync(o =>
        {
            o.ConnectionString = "mongodb://127.0.0.1:27017";
            o.Database = database;
        });

        Assert.Contains("ChitChat:MongoDB:Database", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_reports_every_invalid_setting()
    {
        var ex = await StartAndExpectFailureAsync(o =>
        {
            o.ConnectionString = "mongodb://127.0.0.1:27017";
            o.CollectionPrefix = "system.";
            o.WriteConcern = " ";
            o.PendingWriteTimeout = TimeSpan.Zero;
            o.MaxAppendAttempts = 0;
        });

        Assert.Contains("CollectionPrefix", ex.Message, StringComparison.Ordinal);
        Assert.Contains("WriteConcern", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PendingWriteTimeout", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxAppendAttempts", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseClientFromServices_without_a_registered_client_fails_at_start()
    {
        var ex = await StartAndExpectFailureAsync(o => o.UseClientFromServices = true);

        Assert.Contains("no IMongoClient is registered", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_validates_options_before_building_a_client()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => MongoChatStore.Create(new MongoChatStoreOptions { ConnectionString = "mongodb://127.0.0.1", Database = "a.b" }));

        Assert.Contains("Database", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_majority_journaled_writes_primary_reads_and_retryable_writes()
    {
        using var store = MongoChatStore.Create(new MongoChatStoreOptions { ConnectionString = "mongodb://127.0.0.1:27017", Database = "chat" });

        var client = store.Database.Client.Settings;
        Assert.Equal(WriteConcern.WMode.Majority, client.WriteConcern.W);
        Assert.True(client.WriteConcern.Journal);
        Assert.True(client.RetryWrites);
        Assert.True(client.RetryReads);
        Assert.Equal(ReadPreference.Primary, client.ReadPreference);
        Assert.Equal("ChitChat", client.ApplicationName);
        Assert.Equal(WriteConcern.WMode.Majority, store.Database.Settings.WriteConcern.W);
        Assert.True(store.Database.Settings.WriteConcern.Journal);
        Assert.Equal(ReadPreference.Primary, store.Database.Settings.ReadPreference);
        Assert.Equal("chat", store.Database.DatabaseNamespace.DatabaseName);
    }

    [Fact]
    public void Settings_given_in_the_connection_string_are_preserved()
    {
        using var store = MongoChatStore.Create(new MongoChatStoreOptions
        {
            ConnectionString = "mongodb://127.0.0.1:27017/?w=1&journal=false&wtimeoutMS=2500&retryWrites=false&readPreference=secondaryPreferred&appName=mine",
        });

        var client = store.Database.Client.Settings;
        Assert.Equal(new WriteConcern.WCount(1), client.WriteConcern.W);
        Assert.False(client.WriteConcern.Journal);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), client.WriteConcern.WTimeout);
        Assert.False(client.RetryWrites);
        Assert.Equal(ReadPreferenceMode.SecondaryPreferred, client.ReadPreference.ReadPreferenceMode);
        Assert.Equal("mine", client.ApplicationName);
        Assert.Equal(new WriteConcern.WCount(1), store.Database.Settings.WriteConcern.W);
        Assert.Equal(ReadPreferenceMode.SecondaryPreferred, store.Database.Settings.ReadPreference.ReadPreferenceMode);
    }

    [Fact]
    public void Explicit_options_override_the_connection_string_and_the_settings_callback_runs_last()
    {
        using var store = MongoChatStore.Create(new MongoChatStoreOptions
        {
            ConnectionString = "mongodb://127.0.0.1:27017/?w=1&readPreference=secondary",
            WriteConcern = "dc-east",
            Journal = false,
            ReadPreference = ReadPreferenceMode.Nearest,
            ConfigureClientSettings = s => s.ServerSelectionTimeout = TimeSpan.FromSeconds(7),
        });

        var client = store.Database.Client.Settings;
        Assert.Equal(new WriteConcern.WMode("dc-east"), client.WriteConcern.W);
        Assert.False(client.WriteConcern.Journal);
        Assert.Equal(ReadPreferenceMode.Nearest, client.ReadPreference.ReadPreferenceMode);
        Assert.Equal(TimeSpan.FromSeconds(7), client.ServerSelectionTimeout);
        Assert.Equal(new WriteConcern.WMode("dc-east"), store.Database.Settings.WriteConcern.W);
    }

    [Theory]
    [InlineData("majority")]
    [InlineData("2")]
    public void Numeric_and_majority_write_concerns_parse(string value)
    {
        var concern = MongoClientSettingsFactory.ResolveWriteConcern(new MongoChatStoreOptions { WriteConcern = value }, url: null);

        Assert.Equal(WriteConcern.WValue.Parse(value), concern.W);
        Assert.True(concern.Journal);
    }
}
