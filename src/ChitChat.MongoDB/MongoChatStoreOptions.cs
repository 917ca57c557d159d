using System.ComponentModel.DataAnnotations;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

/// <summary>Options of the MongoDB store, bound from the <c>ChitChat:MongoDB</c> configuration section and validated at start-up.</summary>
public sealed class MongoChatStoreOptions
{
    /// <summary>The configuration section name: <c>ChitChat:MongoDB</c>.</summary>
    public const string SectionName = "ChitChat:MongoDB";

    /// <summary>Gets or sets the MongoDB connection string (<c>mongodb://</c> or <c>mongodb+srv://</c>).</summary>
    /// <value>Required unless <see cref="UseClientFromServices"/> is set or an <see cref="IMongoClient"/> is registered in the service collection.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the database name.</summary>
    /// <value>Default <c>chitchat</c>.</value>
    public string Database { get; set; } = "chitchat";

    /// <summary>Gets or sets the prefix of every collection name (<c>{prefix}users</c>, <c>{prefix}rooms</c>, <c>{prefix}messages</c>, <c>{prefix}counters</c>, <c>{prefix}checkpoints</c>).</summary>
    /// <value>Default <c>chitchat_</c>.</value>
    public string CollectionPrefix { get; set; } = "chitchat_";

    /// <summary>
    /// Gets or sets a value indicating whether the store uses the <see cref="IMongoClient"/> registered in the service collection
    /// (which the store then never disposes) instead of creating one from <see cref="ConnectionString"/>.
    /// </summary>
    /// <value>Default <see langword="false"/>. When <see cref="ConnectionString"/> is empty and an <see cref="IMongoClient"/> is registered, it is used anyway.</value>
    public bool UseClientFromServices { get; set; }

    /// <summary>
    /// Gets or sets the write concern: <c>majority</c>, a number of members (e.g. <c>1</c>) or a tag set name.
    /// </summary>
    /// <value>Default <see langword="null"/>: the connection string's <c>w</c> when it has one, otherwise <c>majority</c>.</value>
    public string? WriteConcern { get; set; }

    /// <summary>Gets or sets a value indicating whether writes wait for the on-disk journal.</summary>
    /// <value>Default <see langword="null"/>: the connection string's <c>journal</c> when it has one, otherwise <see langword="true"/>.</value>
    public bool? Journal { get; set; }

    /// <summary>Gets or sets how long the server waits for the write concern before reporting a failure.</summary>
    /// <value>Default <see langword="null"/>: the connection string's <c>wtimeoutMS</c>, otherwise no limit.</value>
    public TimeSpan? WriteConcernTimeout { get; set; }

    /// <summary>
    /// Gets or sets the read preference of user, room and history reads. The change feed, the sequence assignment and the
    /// replication checkpoints always read from the primary, because they must see every acknowledged write.
    /// </summary>
    /// <value>Default <see langword="null"/>: the connection string's <c>readPreference</c> when it has one, otherwise <see cref="ReadPreferenceMode.Primary"/>.</value>
    public ReadPreferenceMode? ReadPreference { get; set; }

    /// <summary>
    /// Gets or sets how long a reserved change-feed position may stay uncommitted before readers treat it as abandoned
    /// (its writer crashed). Keep it well above the slowest write you expect: a write that commits later than this may be
    /// missed by a change-feed reader that already moved past it.
    /// </summary>
    /// <value>Default 2 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan PendingWriteTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Gets or sets how many times an append retries when a concurrent writer took the sequence number it tried.</summary>
    /// <value>Default 1000.</value>
    [Range(1, 1_000_000)]
    public int MaxAppendAttempts { get; set; } = 1000;

    /// <summary>Gets or sets a callback that adjusts the client settings built from <see cref="ConnectionString"/> (TLS, logging, event subscribers...).</summary>
    /// <value>Default <see langword="null"/>. Not used when the client comes from the service collection.</value>
    public Action<MongoClientSettings>? ConfigureClientSettings { get; set; }

    internal MongoChatStoreOptions Clone() => (MongoChatStoreOptions)MemberwiseClone();
}
