using ChitChat.Storage;
using Microsoft.Extensions.Options;

namespace ChitChat.Replication;

/// <summary>Where the replication router sends reads.</summary>
public enum ReadPreference
{
    /// <summary>Always the primary; reads fail with <c>unavailable</c> when it is down.</summary>
    Primary,

    /// <summary>The primary while it answers; an eligible replica when it does not.</summary>
    PrimaryPreferred,

    /// <summary>Only eligible replicas; reads fail with <c>unavailable</c> when none is eligible.</summary>
    Replica,

    /// <summary>An eligible replica when there is one; otherwise the primary.</summary>
    ReplicaPreferred,

    /// <summary>The store with the lowest observed latency among the primary and the eligible replicas.</summary>
    Nearest,
}

/// <summary>Replication settings, bound from <c>ChitChat:Replication</c> and validated at start-up.</summary>
public sealed class ReplicationOptions
{
    /// <summary>The configuration section name: <c>ChitChat:Replication</c>.</summary>
    public const string SectionName = "ChitChat:Replication";

    private readonly Dictionary<string, IChatStore> _replicaInstances = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets a value indicating whether replication is active. When <see langword="false"/> the previously registered store is used unchanged and nothing syncs.</summary>
    /// <value>Default <see langword="true"/> (calling <c>AddReplication</c> means you want it; hosts usually gate that call on this key).</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets the primary store settings (<c>Primary:Store</c>, <c>Primary:ConnectionString</c>, <c>Primary:Database</c>).</summary>
    public ChatStoreSettings? Primary { get; set; }

    /// <summary>Gets the replica store settings by replica name (<c>Replicas:{name}:Store</c>, ...). Names become the <c>replica</c> metric tag.</summary>
    /// <remarks>Configuration sources merge by name: a replica named in the environment is added to those named in
    /// <c>appsettings.json</c>, not substituted for them, so ship replicas in one source only. None at all fails start-up
    /// with "No replicas configured".</remarks>
    public IDictionary<string, ChatStoreSettings> Replicas { get; } = new Dictionary<string, ChatStoreSettings>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets where reads go.</summary>
    /// <value>Default <see cref="ReadPreference.PrimaryPreferred"/>.</value>
    public ReadPreference ReadPreference { get; set; } = ReadPreference.PrimaryPreferred;

    /// <summary>Gets or sets how far behind the primary a replica may be to serve reads.</summary>
    /// <value>Default 10 seconds.</value>
    public TimeSpan MaxStaleness { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the pause between incremental sync passes (and replica state probes).</summary>
    /// <value>Default 1 second.</value>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how many changes one sync batch reads and applies.</summary>
    /// <value>Default 1,000.</value>
    public int BatchSize { get; set; } = 1000;

    /// <summary>Gets or sets the pause between anti-entropy (digest compare and repair) passes. <see cref="TimeSpan.Zero"/> disables them.</summary>
    /// <value>Default 10 minutes.</value>
    public TimeSpan AntiEntropyInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Gets or sets a value indicating whether anti-entropy repairs toward the primary: copies documents that only a
    /// replica holds, or that a replica holds in a newer version, into the primary. Off, they are reported (in
    /// <see cref="ReplicaVerification.Differences"/>), logged (EventId 5022) and counted (<c>chitchat.replication.documents.unrepaired</c>),
    /// but the primary is never written by a repair.
    /// </summary>
    /// <remarks>
    /// The primary is the source of truth: a document that exists only on a replica was usually written there by mistake
    /// or left over from an older primary, and copying it would make the primary assign or take a sequence number, a
    /// user name or a room name that clients then see. Turn this on only to recover writes that reached a replica alone.
    /// Bound from <c>ChitChat:Replication:RepairPrimary</c>.
    /// </remarks>
    /// <value>Default <see langword="false"/>.</value>
    public bool RepairPrimary { get; set; }

    /// <summary>Gets or sets the width in sequence numbers of one anti-entropy message bucket.</summary>
    /// <value>Default 1,000.</value>
    public int AntiEntropyBucketSize { get; set; } = 1000;

    /// <summary>Gets or sets the lag in seconds above which the <c>replication</c> health check reports Degraded.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan LagThreshold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the lag in documents (change positions) above which the health check reports Degraded.</summary>
    /// <value>Default 10,000.</value>
    public long LagThresholdDocuments { get; set; } = 10_000;

    /// <summary>Gets or sets the lease name that elects the one active syncer.</summary>
    /// <value>Default <c>chitchat-replication</c>.</value>
    public string LeaseName { get; set; } = "chitchat-replication";

    /// <summary>Gets or sets the lease duration; the holder renews it between batches.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the timeout of one routed read or write; a primary that does not answer in time fails the write with <c>unavailable</c>.</summary>
    /// <value>Default 5 seconds.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the timeout of one sync batch read or apply.</summary>
    /// <value>Default 60 seconds.</value>
    public TimeSpan SyncOperationTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets how long a store's circuit stays open after it failed (the <c>Retry-After</c> of <c>unavailable</c> errors).</summary>
    /// <value>Default 5 seconds.</value>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets how many calls the circuit breaker samples before it may open.</summary>
    /// <value>Default 3.</value>
    public int CircuitBreakerMinimumThroughput { get; set; } = 3;

    /// <summary>Gets or sets the first delay of the sync's exponential backoff (with jitter) after a failed pass.</summary>
    /// <value>Default 1 second.</value>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the longest backoff delay.</summary>
    /// <value>Default 1 minute.</value>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Gets or sets a value indicating whether this process runs the sync hosted service (it still needs the lease to write).</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool RunSync { get; set; } = true;

    /// <summary>Gets or sets the source id under which replicas store their checkpoint for the primary.</summary>
    /// <value>Default <c>primary</c>.</value>
    public string SourceId { get; set; } = "primary";

    /// <summary>Gets or sets this node's lease owner id. Default: machine name, process id and a random suffix.</summary>
    public string? NodeId { get; set; }

    /// <summary>Gets or sets how many differences a verification lists per replica (all are counted).</summary>
    /// <value>Default 100.</value>
    public int MaxReportedDifferences { get; set; } = 100;

    /// <summary>Gets the primary store instance supplied from code, if any.</summary>
    internal IChatStore? PrimaryInstance { get; private set; }

    /// <summary>Gets the replica store instances supplied from code.</summary>
    internal IReadOnlyDictionary<string, IChatStore> ReplicaInstances => _replicaInstances;

    /// <summary>Uses a store instance as the primary instead of building one from <see cref="Primary"/>. The caller owns (disposes) it.</summary>
    /// <param name="store">The primary store.</param>
    /// <returns>The same options for chaining.</returns>
    public ReplicationOptions UsePrimary(IChatStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        PrimaryInstance = store;
        return this;
    }

    /// <summary>Adds a replica store instance under a name instead of building one from <see cref="Replicas"/>. The caller owns (disposes) it.</summary>
    /// <param name="name">The replica name (metric tag, reports).</param>
    /// <param name="store">The replica store.</param>
    /// <returns>The same options for chaining.</returns>
    public ReplicationOptions AddReplica(string name, IChatStore store)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(store);
        _replicaInstances[name] = store;
        return this;
    }
}

/// <summary>Validates <see cref="ReplicationOptions"/> with messages that name the configuration key.</summary>
internal sealed class ReplicationOptionsValidator : IValidateOptions<ReplicationOptions>
{
    public ValidateOptionsResult Validate(string? name, ReplicationOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        const string P = ReplicationOptions.SectionName;
        var failures = new List<string>();
        if (options.PrimaryInstance is null)
        {
            if (options.Primary is null)
            {
                failures.Add($"{P}:Primary is required: set {P}:Primary:Store and {P}:Primary:ConnectionString (or supply a primary store from code).");
            }
            else if (string.IsNullOrWhiteSpace(options.Primary.Store))
            {
                failures.Add($"{P}:Primary:Store is required (e.g. Sqlite, MongoDB, InMemory).");
            }
        }

        var names = new HashSet<string>(options.Replicas.Keys, StringComparer.OrdinalIgnoreCase);
        names.UnionWith(options.ReplicaInstances.Keys);
        if (names.Count == 0)
        {
            failures.Add($"No replicas configured: {P}:Replicas must name at least one replica ({P}:Replicas:{{name}}:Store, ...).");
        }

        foreach (var (replica, settings) in options.Replicas)
        {
            if (string.IsNullOrWhiteSpace(settings.Store) && !options.ReplicaInstances.ContainsKey(replica))
            {
                failures.Add($"{P}:Replicas:{replica}:Store is required.");
            }

            if (options.Primary is not null && options.PrimaryInstance is null && !options.ReplicaInstances.ContainsKey(replica)
                && string.Equals(settings.Store, options.Primary.Store, StringComparison.OrdinalIgnoreCase)
                && settings.ConnectionString is not null
                && string.Equals(settings.ConnectionString, options.Primary.ConnectionString, StringComparison.Ordinal)
                && string.Equals(settings.Database, options.Primary.Database, StringComparison.Ordinal))
            {
                failures.Add($"{P}:Replicas:{replica} points at the same database as {P}:Primary.");
            }
        }

        foreach (var replica in names)
        {
            if (replica.Length > 64 || !replica.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                failures.Add($"{P}:Replicas:{replica}: a replica name must be 1 to 64 letters, digits, '-' or '_'.");
            }
        }

        Positive(options.MaxStaleness, "MaxStaleness");
        Positive(options.SyncInterval, "SyncInterval");
        Positive(options.LagThreshold, "LagThreshold");
        Positive(options.LeaseDuration, "LeaseDuration");
        Positive(options.OperationTimeout, "OperationTimeout");
        Positive(options.SyncOperationTimeout, "SyncOperationTimeout");
        Positive(options.BreakDuration, "BreakDuration");
        Positive(options.RetryBaseDelay, "RetryBaseDelay");
        Positive(options.RetryMaxDelay, "RetryMaxDelay");
        if (options.AntiEntropyInterval < TimeSpan.Zero)
        {
            failures.Add($"{P}:AntiEntropyInterval must not be negative (0 disables anti-entropy).");
        }

        if (options.BatchSize is < 1 or > 100_000)
        {
            failures.Add($"{P}:BatchSize must be between 1 and 100000 (was {options.BatchSize}).");
        }

        if (options.AntiEntropyBucketSize is < 1 or > 1_000_000)
        {
            failures.Add($"{P}:AntiEntropyBucketSize must be between 1 and 1000000 (was {options.AntiEntropyBucketSize}).");
        }

        if (options.LagThresholdDocuments < 1)
        {
            failures.Add($"{P}:LagThresholdDocuments must be at least 1.");
        }

        if (options.CircuitBreakerMinimumThroughput < 2)
        {
            failures.Add($"{P}:CircuitBreakerMinimumThroughput must be at least 2.");
        }

        if (options.BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            failures.Add($"{P}:BreakDuration must be at least 00:00:00.5.");
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add($"{P}:RetryMaxDelay must not be shorter than {P}:RetryBaseDelay.");
        }

        if (string.IsNullOrWhiteSpace(options.LeaseName))
        {
            failures.Add($"{P}:LeaseName is required.");
        }

        if (string.IsNullOrWhiteSpace(options.SourceId))
        {
            failures.Add($"{P}:SourceId is required.");
        }

        if (options.LeaseDuration < options.SyncInterval + options.SyncInterval)
        {
            failures.Add($"{P}:LeaseDuration ({options.LeaseDuration}) must be at least twice {P}:SyncInterval ({options.SyncInterval}) so the holder can renew it.");
        }

        if (options.MaxReportedDifferences < 0)
        {
            failures.Add($"{P}:MaxReportedDifferences must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Positive(TimeSpan value, string key)
        {
            if (value <= TimeSpan.Zero)
            {
                failures.Add($"{P}:{key} must be positive (was {value}).");
            }
        }
    }
}
