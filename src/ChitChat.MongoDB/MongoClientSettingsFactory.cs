using MongoDB.Driver;

namespace ChitChat.MongoDB;

/// <summary>
/// Turns options and the connection string into client and database settings. Rule for each consistency setting: the
/// option when set, else the connection string's value when it has one, else ChitChat's default (w: majority, journal:
/// true, read preference primary, retryable reads and writes on).
/// </summary>
internal static class MongoClientSettingsFactory
{
    public static MongoClientSettings CreateClientSettings(MongoChatStoreOptions options, MongoUrl url)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(url);
        var settings = MongoClientSettings.FromUrl(url);
        settings.RetryWrites = url.RetryWrites ?? true;
        settings.RetryReads = url.RetryReads ?? true;
        settings.WriteConcern = ResolveWriteConcern(options, url);
        settings.ReadPreference = ResolveReadPreference(options, url);
        settings.ApplicationName ??= "ChitChat";
        options.ConfigureClientSettings?.Invoke(settings);
        return settings;
    }

    public static MongoDatabaseSettings CreateDatabaseSettings(MongoChatStoreOptions options, MongoUrl? url) => new()
    {
        WriteConcern = ResolveWriteConcern(options, url),
        ReadPreference = ResolveReadPreference(options, url),
    };

    public static WriteConcern ResolveWriteConcern(MongoChatStoreOptions options, MongoUrl? url)
    {
        WriteConcern.WValue w = options.WriteConcern is { } configured
            ? WriteConcern.WValue.Parse(configured.Trim())
            : url?.W ?? WriteConcern.WMode.Majority;
        var journal = options.Journal ?? url?.Journal ?? true;
        var timeout = options.WriteConcernTimeout ?? url?.WTimeout;
        return new WriteConcern(w, timeout, fsync: null, journal);
    }

    public static ReadPreference ResolveReadPreference(MongoChatStoreOptions options, MongoUrl? url) =>
        options.ReadPreference is { } mode ? new ReadPreference(mode) : url?.ReadPreference ?? ReadPreference.Primary;
}
