using StackExchange.Redis;

namespace ChitChat.Redis;

/// <summary>
/// Options of ChitChat's Redis scale-out (transport, presence and leases), bound from the <c>ChitChat:Redis</c>
/// configuration section and validated at start-up.
/// </summary>
public sealed class RedisChitChatOptions
{
    /// <summary>The configuration section name: <c>ChitChat:Redis</c>.</summary>
    public const string SectionName = "ChitChat:Redis";

    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c> or
    /// <c>redis.example:6380,ssl=true,password=...</c>. Ignored when <see cref="ConfigurationOptions"/> is set. When both are
    /// empty, an <see cref="IConnectionMultiplexer"/> registered in dependency injection is used (and never disposed by ChitChat).
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>Gets or sets the StackExchange.Redis configuration; takes precedence over <see cref="Configuration"/>.</summary>
    /// <remarks>ChitChat copies it and forces <see cref="ConfigurationOptions.AbortOnConnectFail"/> to <see langword="false"/>.</remarks>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>Gets or sets the prefix of every Redis key and channel ChitChat uses, so that several apps can share a server.</summary>
    /// <value>Default <c>chitchat:</c>.</value>
    public string KeyPrefix { get; set; } = "chitchat:";

    /// <summary>
    /// Gets or sets how long a presence entry lives without a heartbeat from its node: the users of a crashed node disappear
    /// from every room within this time.
    /// </summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan PresenceTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how often a node refreshes its presence entries; must be shorter than <see cref="PresenceTimeout"/>.</summary>
    /// <value>Default <see langword="null"/>: a third of <see cref="PresenceTimeout"/>.</value>
    public TimeSpan? PresenceHeartbeatInterval { get; set; }

    /// <summary>Gets the effective heartbeat interval.</summary>
    internal TimeSpan EffectiveHeartbeatInterval => PresenceHeartbeatInterval ?? PresenceTimeout / 3;
}
