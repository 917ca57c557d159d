using ChitChat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MongoDB.Bson;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

/// <summary>
/// A ChitChat store on MongoDB (standalone, replica set or sharded cluster; MongoDB 4.4 or later).
/// </summary>
/// <remarks>
/// <para><b>Gap-free per-room <c>seq</c>.</b> There is no per-room counter: a counter incremented before the insert would
/// leave a hole whenever the insert then fails (a crash, a lost connection, an idempotency duplicate). Instead an append
/// reads the room's highest <c>seq</c> from the primary (index <c>ux_room_seq</c>, one key) and inserts the message with
/// <c>seq = last + 1</c>. The unique index on <c>(room, seq)</c> makes the insert fail with a duplicate key when a
/// concurrent writer — on this node or any other — took that number first; the append then reads again and retries.
/// Invariant: a room's messages hold exactly the numbers 1..n. An insert of <c>last + 1</c> either becomes n + 1 (when
/// <c>last</c> was n) or collides (when <c>last</c> was stale, it is &lt;= n - 1 since numbers never disappear, so
/// <c>last + 1 &lt;= n</c> is taken). A number therefore exists only once a document holding it is committed, and no
/// failure can leave a hole. The idempotency key is handled on the same path: a duplicate key on <c>(room, cmid)</c>
/// (index <c>ux_room_cmid</c>, partial on <c>cmid</c> existing) returns the original message with <c>Created = false</c>.
/// This works on every deployment (no transactions needed). Under heavy contention on one room writers retry; each retry
/// costs one indexed read and one insert.</para>
/// <para><b>Updates share the sequence</b> (edits, deletes, reactions): every message holds in <c>seqs</c> each number of the
/// room's sequence it took (its own and its updates'), under the unique multikey index <c>ux_room_seqs</c>, so an update
/// claims <c>last + 1</c> against appends and other updates with the same collision-and-retry rule. The new version, the
/// claim and a redo log of the update event are one single-document compare-and-set on the message's version; the event
/// is then stored in <c>message_updates</c> and the log dropped, and whoever meets a leftover log redoes that step (see
/// docs/mongodb.md, "Updates in the event sequence").</para>
/// <para><b>Change feed.</b> Every write stamps the document with a global position <c>pos</c> reserved from the counter
/// document <c>{_id: "changes"}</c> in <c>{prefix}counters</c> by one atomic findOneAndUpdate. Positions are reserved in
/// order but committed out of order: a reader that saw <c>pos</c> 11 committed could skip 10 if 10's writer is slow. So the
/// reservation also records <c>{p, t: $$NOW}</c> in the counter's <c>pending</c> array, and the writer removes it once its
/// write finished (succeeded or failed). Readers first read the watermark — one below the lowest live pending
/// reservation, or <c>v</c> when none is pending — then read documents with <c>pos</c> up to that watermark only. Every
/// position at or below it is either committed (visible to the following primary read) or abandoned, never in flight.
/// A reservation whose writer died stays pending until <see cref="MongoChatStoreOptions.PendingWriteTimeout"/> (server
/// clock), after which it no longer holds readers back and the next reservation prunes it. Writes under a reservation run
/// without the caller's cancellation token (it is checked between steps), so a cancelled request never abandons an
/// in-flight write. Change streams are not needed: polling works on any deployment.</para>
/// <para><b>Replication writes</b> (<see cref="IReplicationStore.ApplyAsync"/>) replace by <c>{_id, v: {$lt: version}}</c>
/// with upsert (last writer wins by version; a duplicate key on <c>_id</c> means "equal or newer already there"). Documents
/// are written first and the checkpoint last, so a crash in between re-applies the same batch, which changes nothing the
/// second time. No multi-document transaction is used: it would serialize every write on the counter document and
/// needs a replica set, while the idempotent order gives the same outcome after a retry.</para>
/// <para><b>Memberships: a single-document compare-and-set with a redo log</b> (no transactions, so it works on a
/// standalone server too). The room document is the lock of its memberships: a change
/// (<see cref="IMembershipStore.TryApplyAsync"/>) is one atomic update of the room document filtered on
/// <c>{name, mv: expected, mpend: absent}</c> that sets <c>mv = expected + 1</c>, increments <c>v</c> and stores the
/// membership writes in <c>mpend</c>. Of two concurrent changes on the same version only one matches. The winner then
/// upserts the writes into the memberships collection (last writer wins by version, so doing it twice is harmless) and
/// unsets <c>mpend</c>. Until then the room cannot take another change, and every membership read of the room first
/// settles a pending log it finds (the same idempotent upserts), so a reader never decides on memberships older than the
/// room's <c>mv</c>, even when the writer died between the two steps. A room is created with its initial members the same
/// way: the insert of the room document (unique name) carries them in <c>mpend</c>, so the loser of two concurrent creates
/// writes nothing. <see cref="IRoomStore.ListForUserAsync"/> reads the user's memberships without settling every room:
/// it can miss a change only while a writer that crashed mid-change has not been followed by any read of that room.</para>
/// </remarks>
public sealed partial class MongoChatStore : IChatStore, IUserStore, IRoomStore, IMessageStore, IMembershipStore, IReadStateStore, IReplicationStore, IAsyncDisposable, IDisposable
{
    private readonly IMongoClient _client;
    private readonly bool _ownsClient;
    private readonly MongoChatStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMongoCollection<UserDocument> _users;
    private readonly IMongoCollection<RoomDocument> _rooms;
    private readonly IMongoCollection<MessageDocument> _messages;
    private readonly IMongoCollection<MembershipDocument> _memberships;
    private readonly IMongoCollection<MembershipDocument> _membershipsPrimary;
    private readonly IMongoCollection<UserDocument> _usersPrimary;
    private readonly IMongoCollection<RoomDocument> _roomsPrimary;
    private readonly IMongoCollection<MessageDocument> _messagesPrimary;
    private readonly IMongoCollection<MessageUpdateDocument> _updates;
    private readonly IMongoCollection<MessageUpdateDocument> _updatesPrimary;
    private readonly IMongoCollection<ReadMarkerDocument> _markers;
    private readonly IMongoCollection<ReadMarkerDocument> _markersPrimary;
    private readonly IMongoCollection<CounterDocument> _counters;
    private readonly IMongoCollection<CheckpointDocument> _checkpoints;
    private int _disposed;

    /// <summary>Initializes a new instance on a client the caller owns (the store never disposes it).</summary>
    /// <param name="client">The MongoDB client.</param>
    /// <param name="options">The options; <see cref="MongoChatStoreOptions.ConnectionString"/> is ignored.</param>
    /// <param name="timeProvider">The clock for change timestamps.</param>
    /// <param name="logger">The logger.</param>
    public MongoChatStore(IMongoClient client, MongoChatStoreOptions options, TimeProvider? timeProvider = null, ILogger<MongoChatStore>? logger = null)
        : this(client, ownsClient: false, options, url: null, timeProvider, logger)
    {
    }

    internal MongoChatStore(IMongoClient client, bool ownsClient, MongoChatStoreOptions options, MongoUrl? url, TimeProvider? timeProvider, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        if (MongoChatStoreOptionsValidator.DatabaseNameError(options.Database) is { } error)
        {
            throw new ArgumentException($"The database name {error}", nameof(options));
        }

        _client = client;
        _ownsClient = ownsClient;
        _options = options.Clone();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Database = client.GetDatabase(options.Database, MongoClientSettingsFactory.CreateDatabaseSettings(options, url));
        var prefix = options.CollectionPrefix;
        _users = Database.GetCollection<UserDocument>(prefix + "users");
        _rooms = Database.GetCollection<RoomDocument>(prefix + "rooms");
        _messages = Database.GetCollection<MessageDocument>(prefix + "messages");
        _memberships = Database.GetCollection<MembershipDocument>(prefix + "memberships");
        _membershipsPrimary = _memberships.WithReadPreference(ReadPreference.Primary);
        _usersPrimary = _users.WithReadPreference(ReadPreference.Primary);
        _roomsPrimary = _rooms.WithReadPreference(ReadPreference.Primary);
        _messagesPrimary = _messages.WithReadPreference(ReadPreference.Primary);
        _updates = Database.GetCollection<MessageUpdateDocument>(prefix + "message_updates");
        _updatesPrimary = _updates.WithReadPreference(ReadPreference.Primary);
        _markers = Database.GetCollection<ReadMarkerDocument>(prefix + "read_markers");
        _markersPrimary = _markers.WithReadPreference(ReadPreference.Primary);
        _counters = Database.GetCollection<CounterDocument>(prefix + "counters").WithReadPreference(ReadPreference.Primary);
        _checkpoints = Database.GetCollection<CheckpointDocument>(prefix + "checkpoints").WithReadPreference(ReadPreference.Primary);
    }

    /// <summary>Creates a store with its own client built from <see cref="MongoChatStoreOptions.ConnectionString"/>; disposing the store disposes the client.</summary>
    /// <param name="options">The options (validated here).</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>The store, not yet initialized (no connection is made until first use).</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    public static MongoChatStore Create(MongoChatStoreOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = MongoChatStoreOptionsValidator.Validate(options, clientInServices: false);
        if (failures.Count > 0)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(string.Empty, typeof(MongoChatStoreOptions), failures);
        }

        var url = MongoUrl.Create(options.ConnectionString);
        var client = new MongoClient(MongoClientSettingsFactory.CreateClientSettings(options, url));
        return new MongoChatStore(client, ownsClient: true, options, url, timeProvider, loggerFactory?.CreateLogger<MongoChatStore>());
    }

    /// <inheritdoc />
    public string ProviderName => "mongodb";

    /// <summary>Gets the database the store uses (with the configured write concern and read preference).</summary>
    public IMongoDatabase Database { get; }

    /// <summary>Gets a value indicating whether <see cref="InitializeAsync"/> found a replica set (change streams and transactions available).</summary>
    public bool IsReplicaSet { get; private set; }

    /// <inheritdoc />
    public IUserStore Users => this;

    /// <inheritdoc />
    public IRoomStore Rooms => this;

    /// <inheritdoc />
    public IMessageStore Messages => this;

    /// <inheritdoc />
    public IMembershipStore Memberships => this;

    /// <inheritdoc />
    public IReadStateStore ReadState => this;

    /// <inheritdoc />
    public IReplicationStore Replication => this;

    internal MongoChatStoreOptions Options => _options;

    internal bool OwnsClient => _ownsClient;

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        RunAsync("initialize", async ct =>
        {
            await _users.Indexes.CreateManyAsync(MongoDefinitions.UserIndexes(), ct).ConfigureAwait(false);
            await _rooms.Indexes.CreateManyAsync(MongoDefinitions.RoomIndexes(), ct).ConfigureAwait(false);
            // Messages stored before updates shared the event sequence get their own seq as their claim, before the unique
            // multikey index on (room, seqs) is built (idempotent: only documents without the field are touched).
            await _messagesPrimary.UpdateManyAsync(MongoDefinitions.MessagesWithoutSeqClaims, MongoDefinitions.ClaimOwnSeq, null, ct).ConfigureAwait(false);
            await _messages.Indexes.CreateManyAsync(MongoDefinitions.MessageIndexes(), ct).ConfigureAwait(false);
            await _updates.Indexes.CreateManyAsync(MongoDefinitions.MessageUpdateIndexes(), ct).ConfigureAwait(false);
            await _markers.Indexes.CreateManyAsync(MongoDefinitions.ReadMarkerIndexes(), ct).ConfigureAwait(false);
            await _memberships.Indexes.CreateManyAsync(MongoDefinitions.MembershipIndexes(), ct).ConfigureAwait(false);
            try
            {
                await _counters.UpdateOneAsync(MongoDefinitions.ChangesCounter, MongoDefinitions.CreateCounter, new UpdateOptions { IsUpsert = true }, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsDuplicateKey(ex))
            {
                // Another node created it at the same moment.
            }

            IsReplicaSet = await DetectReplicaSetAsync(ct).ConfigureAwait(false);
            LogInitialized(_options.Database, _options.CollectionPrefix, IsReplicaSet ? "replica set" : "standalone or sharded");
            return true;
        }, cancellationToken);

    /// <inheritdoc />
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        RunAsync("ping", ct => Database.RunCommandAsync(new BsonDocumentCommand<BsonDocument>(new BsonDocument("ping", 1)), ReadPreference.Primary, ct), cancellationToken);

    /// <summary>
    /// An optional wake-up signal for change-feed pollers. On a replica set (see <see cref="IsReplicaSet"/>) it opens a change
    /// stream on the store's users, rooms and messages collections and completes with <see langword="true"/> at the first
    /// change, or <see langword="false"/> after <paramref name="maxWait"/>. Elsewhere (standalone, or before
    /// <see cref="InitializeAsync"/>) it simply waits <paramref name="maxWait"/>. A change made just before the stream opens
    /// is not signalled: callers still poll <see cref="IReplicationStore.ReadChangesAsync"/>, which never depends on this.
    /// </summary>
    /// <param name="maxWait">The longest time to wait.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns><see langword="true"/> when a change was seen; <see langword="false"/> when the time ran out.</returns>
    public async Task<bool> WaitForChangeAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxWait, TimeSpan.Zero);
        if (!IsReplicaSet)
        {
            await Task.Delay(maxWait, _time, cancellationToken).ConfigureAwait(false);
            return false;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(maxWait);
        try
        {
            return await RunAsync("watch changes", async ct =>
            {
                var collections = new BsonArray
                {
                    _users.CollectionNamespace.CollectionName,
                    _rooms.CollectionNamespace.CollectionName,
                    _messages.CollectionNamespace.CollectionName,
                    _memberships.CollectionNamespace.CollectionName,
                    _updates.CollectionNamespace.CollectionName,
                    _markers.CollectionNamespace.CollectionName,
                };
                var pipeline = new EmptyPipelineDefinition<ChangeStreamDocument<BsonDocument>>()
                    .Match(new BsonDocument("ns.coll", new BsonDocument("$in", collections)));
                using var cursor = await Database.WatchAsync(pipeline, new ChangeStreamOptions { MaxAwaitTime = maxWait }, ct).ConfigureAwait(false);
                while (await cursor.MoveNextAsync(ct).ConfigureAwait(false))
                {
                    if (cursor.Current.Any())
                    {
                        return true;
                    }
                }

                return false;
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    // ---- users -----------------------------------------------------------------------------------------------------

    Task<bool> IUserStore.TryCreateAsync(ChatUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        return TryInsertAsync("create user", _users, position => UserDocument.From(user, position, _time.GetUtcNow()), cancellationToken);
    }

    Task<ChatUser?> IUserStore.FindByIdAsync(Guid id, CancellationToken cancellationToken) =>
        RunAsync("find user", async ct =>
        {
            var doc = await _users.Find(MongoDefinitions.IdEquals<UserDocument>(id)).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc?.ToModel();
        }, cancellationToken);

    Task<ChatUser?> IUserStore.FindByNameAsync(string userName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userName);
        return RunAsync("find user", async ct =>
        {
            var doc = await _users.Find(MongoDefinitions.UserByNormalizedName(ChatUser.Normalize(userName))).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc?.ToModel();
        }, cancellationToken);
    }

    /// <summary>
    /// Inserts a new document at a reserved change position; <see langword="false"/> when a unique index (name) refuses it.
    /// The reservation is released whatever happens, so the change feed's watermark moves on.
    /// </summary>
    private Task<bool> TryInsertAsync<TDocument>(string operation, IMongoCollection<TDocument> collection, Func<long, TDocument> create, CancellationToken cancellationToken) =>
        RunAsync(operation, async ct =>
        {
            ct.ThrowIfCancellationRequested();
            var position = await ReservePositionsAsync(1).ConfigureAwait(false);
            try
            {
                await collection.InsertOneAsync(create(position), null, CancellationToken.None).ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (IsDuplicateKey(ex))
            {
                return false;
            }
            finally
            {
                await ReleasePositionsAsync(position).ConfigureAwait(false);
            }
        }, cancellationToken);

    // ---- rooms -----------------------------------------------------------------------------------------------------

    Task<ChatRoom?> IRoomStore.FindByNameAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return RunAsync("find room", async ct =>
        {
            var doc = await _rooms.Find(MongoDefinitions.RoomByName(name)).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc?.ToModel();
        }, cancellationToken);
    }

    Task<IReadOnlyList<ChatRoom>> IRoomStore.ListAsync(CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ChatRoom>>("list rooms", async ct =>
        {
            var docs = await _rooms.Find(FilterDefinition<RoomDocument>.Empty).Sort(Builders<RoomDocument>.Sort.Ascending(Fields.RoomName)).ToListAsync(ct).ConfigureAwait(false);
            return docs.ConvertAll(d => d.ToModel());
        }, cancellationToken);

    // ---- messages --------------------------------------------------------------------------------------------------

    Task<AppendResult> IMessageStore.AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return RunAsync("append message", ct => AppendCoreAsync(message, ct), cancellationToken);
    }

    private async Task<AppendResult> AppendCoreAsync(NewMessage message, CancellationToken cancellationToken)
    {
        // Fast path for a retry: the original is already there.
        if (message.ClientMessageId is { } key
            && await FindByClientIdAsync(message.Room, key, cancellationToken).ConfigureAwait(false) is { } original)
        {
            return new AppendResult(original, false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var position = await ReservePositionsAsync(1).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; attempt <= _options.MaxAppendAttempts; attempt++)
            {
                var last = await LastSeqAsync(message.Room, CancellationToken.None).ConfigureAwait(false);
                var stored = message.ToMessage(last + 1);
                try
                {
                    await _messages.InsertOneAsync(MessageDocument.From(stored, position, _time.GetUtcNow()), null, CancellationToken.None).ConfigureAwait(false);
                    return new AppendResult(stored, true);
                }
                catch (Exception ex) when (IsDuplicateKey(ex))
                {
                    if (message.ClientMessageId is { } k
                        && await FindByClientIdAsync(message.Room, k, CancellationToken.None).ConfigureAwait(false) is { } first)
                    {
                        return new AppendResult(first, false); // a concurrent retry with the same key won
                    }

                    if (DuplicateIndexName(ex) == "_id_"
                        && await _messagesPrimary.Find(MongoDefinitions.IdEquals<MessageDocument>(message.Id)).FirstOrDefaultAsync(CancellationToken.None).ConfigureAwait(false) is { } same)
                    {
                        return new AppendResult(same.ToModel(), false); // the same message id was appended before
                    }

                    // (room, seq) taken by a concurrent writer: read the new last seq and try the next number.
                    if (attempt % 50 == 0)
                    {
                        LogAppendContention(attempt);
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            throw new ChatStoreUnavailableException($"Could not assign a sequence number after {_options.MaxAppendAttempts} attempts (too many concurrent writers in one room).", TimeSpan.FromSeconds(1));
        }
        finally
        {
            await ReleasePositionsAsync(position).ConfigureAwait(false);
        }
    }

    Task<IReadOnlyList<ChatMessage>> IMessageStore.QueryAsync(string room, MessageQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        return RunAsync<IReadOnlyList<ChatMessage>>("query messages", async ct =>
        {
            var filter = MongoDefinitions.MessagePage(room, query.AfterSeq, query.BeforeSeq);
            if (query.AfterSeq is not null)
            {
                var earliest = await _messages.Find(filter).Sort(MongoDefinitions.SeqAscending).Limit(query.Limit).ToListAsync(ct).ConfigureAwait(false);
                return await WithReplyCountsAsync(room, earliest.ConvertAll(d => d.ToModel()), ct).ConfigureAwait(false);
            }

            var latest = await _messages.Find(filter).Sort(MongoDefinitions.SeqDescending).Limit(query.Limit).ToListAsync(ct).ConfigureAwait(false);
            latest.Reverse();
            return await WithReplyCountsAsync(room, latest.ConvertAll(d => d.ToModel()), ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    Task<long> IMessageStore.GetLastSeqAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync("read last seq", ct => LastSeqAsync(room, ct), cancellationToken);
    }

    Task<ChatMessage?> IMessageStore.FindByClientMessageIdAsync(string room, string clientMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(clientMessageId);
        return RunAsync("find message", ct => FindByClientIdAsync(room, clientMessageId, ct), cancellationToken);
    }

    /// <summary>The room's last seq, messages and updates alike: the highest of the top message seq (ux_room_seq), the top
    /// update seq a message holds (ix_room_useq; covers an update whose event is still settling) and the top update event
    /// (ux_room_seq of message_updates; covers replicated events). Three one-key index reads on the primary.</summary>
    private async Task<long> LastSeqAsync(string room, CancellationToken cancellationToken)
    {
        var messageSeq = TopAsync(_messagesPrimary, MongoDefinitions.MessagesInRoom(room), MongoDefinitions.SeqDescending, Fields.Seq, cancellationToken);
        var heldUpdateSeq = TopAsync(_messagesPrimary, MongoDefinitions.MessagesWithUpdates(room), MongoDefinitions.LastUpdateSeqDescending, Fields.LastUpdateSeq, cancellationToken);
        var updateSeq = TopAsync(_updatesPrimary, MongoDefinitions.UpdatesInRoom(room), MongoDefinitions.UpdateSeqDescending, Fields.Seq, cancellationToken);
        var all = await Task.WhenAll(messageSeq, heldUpdateSeq, updateSeq).ConfigureAwait(false);
        return all.Max();
    }

    private static async Task<long> TopAsync<T>(IMongoCollection<T> collection, FilterDefinition<T> filter, SortDefinition<T> sort, string field, CancellationToken cancellationToken)
    {
        var top = await collection.Find(filter)
            .Sort(sort)
            .Limit(1)
            .Project(Builders<T>.Projection.Include(field).Exclude(Fields.Id))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return top is not null && top.TryGetValue(field, out var value) && value.IsNumeric ? value.ToInt64() : 0;
    }

    private async Task<ChatMessage?> FindByClientIdAsync(string room, string clientMessageId, CancellationToken cancellationToken)
    {
        var doc = await _messagesPrimary.Find(MongoDefinitions.MessageByClientId(room, clientMessageId)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return doc is null ? null : await WithReplyCountAsync(doc.ToModel(), cancellationToken).ConfigureAwait(false);
    }

    // ---- positions -------------------------------------------------------------------------------------------------

    /// <summary>Reserves <paramref name="count"/> consecutive positions and registers them as pending; returns the first.
    /// Runs without a cancellation token: a cancelled reservation could succeed on the server without the caller learning
    /// its number, and it would then hold readers back until it times out.</summary>
    internal async Task<long> ReservePositionsAsync(int count)
    {
        var options = new FindOneAndUpdateOptions<CounterDocument, CounterDocument>
        {
            IsUpsert = true,
            ReturnDocument = ReturnDocument.After,
            Projection = Builders<CounterDocument>.Projection.Include(Fields.CounterValue),
        };
        var update = MongoDefinitions.ReservePositions(count, _options.PendingWriteTimeout);
        CounterDocument counter;
        try
        {
            counter = await _counters.FindOneAndUpdateAsync(MongoDefinitions.ChangesCounter, update, options, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDuplicateKey(ex))
        {
            // Two first-ever upserts raced; the document exists now.
            counter = await _counters.FindOneAndUpdateAsync(MongoDefinitions.ChangesCounter, update, options, CancellationToken.None).ConfigureAwait(false);
        }

        return counter.Value - count + 1;
    }

    internal async Task ReleasePositionsAsync(long first)
    {
        try
        {
            await _counters.UpdateOneAsync(MongoDefinitions.ChangesCounter, MongoDefinitions.ReleasePositions(first), null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MongoException or TimeoutException)
        {
            // The reservation expires after PendingWriteTimeout; until then change-feed readers wait before it.
            LogReleaseFailed(first, ex.GetType().Name);
        }
    }

    /// <summary>Reads the highest position readers may return: every position up to it is committed or abandoned.</summary>
    private async Task<long> ReadWatermarkAsync(CancellationToken cancellationToken)
    {
        var pipeline = PipelineDefinition<CounterDocument, BsonDocument>.Create(MongoDefinitions.WatermarkPipeline(_options.PendingWriteTimeout));
        var doc = await (await _counters.AggregateAsync(pipeline, null, cancellationToken).ConfigureAwait(false)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (doc is null)
        {
            return 0;
        }

        var value = doc.GetValue(Fields.CounterValue, 0L).ToInt64();
        var low = doc.GetValue("low", BsonNull.Value);
        return low.IsBsonNull ? value : low.ToInt64() - 1;
    }

    private async Task<bool> DetectReplicaSetAsync(CancellationToken cancellationToken)
    {
        BsonDocument hello;
        try
        {
            hello = await Database.RunCommandAsync(new BsonDocumentCommand<BsonDocument>(new BsonDocument("hello", 1)), ReadPreference.Primary, cancellationToken).ConfigureAwait(false);
        }
        catch (MongoCommandException)
        {
            hello = await Database.RunCommandAsync(new BsonDocumentCommand<BsonDocument>(new BsonDocument("isMaster", 1)), ReadPreference.Primary, cancellationToken).ConfigureAwait(false);
        }

        return hello.Contains("setName");
    }

    // ---- errors ----------------------------------------------------------------------------------------------------

    private async Task<T> RunAsync<T>(string operation, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        try
        {
            return await action(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            LogUnavailable(operation, ex.GetType().Name);
            throw new ChatStoreUnavailableException($"The MongoDB store is unavailable ({operation}).", innerException: ex);
        }
    }

    /// <summary>Whether <paramref name="ex"/> means the server could not be reached, is not primary, or did not confirm the write
    /// concern in time (retriable; after a write concern failure the write may or may not have been applied: appends with an
    /// idempotency key and replication writes are safe to retry).</summary>
    internal static bool IsUnavailable(Exception ex) => ex is MongoConnectionException
        or TimeoutException
        or MongoNotPrimaryException
        or MongoNodeIsRecoveringException
        or MongoExecutionTimeoutException
        or MongoWaitQueueFullException
        or MongoConnectionPoolPausedException
        or MongoWriteConcernException
        or MongoWriteException { WriteError: null, WriteConcernError: not null };

    /// <summary>Whether <paramref name="ex"/> is a duplicate key error (E11000) from an insert, update, replace or findAndModify.</summary>
    internal static bool IsDuplicateKey(Exception ex) => ex switch
    {
        MongoWriteException w => w.WriteError?.Category == ServerErrorCategory.DuplicateKey,
        MongoBulkWriteException b => b.WriteErrors.Any(e => e.Category == ServerErrorCategory.DuplicateKey),
        MongoWriteConcernException => false,
        MongoCommandException c => c.Code == 11000,
        _ => false,
    };

    /// <summary>The index named in a duplicate key error ("... index: ux_room_seq dup key: ..."), or <see langword="null"/>.</summary>
    internal static string? DuplicateIndexName(Exception ex)
    {
        var message = ex is MongoWriteException w ? w.WriteError?.Message : ex.Message;
        if (message is null)
        {
            return null;
        }

        const string marker = "index: ";
        var start = message.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = message.IndexOf(' ', start);
        return end < 0 ? message[start..] : message[start..end];
    }

    [LoggerMessage(EventId = 3001, EventName = "MongoStoreInitialized", Level = LogLevel.Information, Message = "MongoDB store ready: database {Database}, collection prefix '{Prefix}', deployment: {Deployment}.")]
    private partial void LogInitialized(string database, string prefix, string deployment);

    [LoggerMessage(EventId = 3002, EventName = "MongoStoreUnavailable", Level = LogLevel.Warning, Message = "MongoDB store unavailable during {Operation}: {ErrorType}.")]
    private partial void LogUnavailable(string operation, string errorType);

    [LoggerMessage(EventId = 3003, EventName = "MongoAppendContention", Level = LogLevel.Information, Message = "Append still competing for a sequence number after {Attempts} attempts.")]
    private partial void LogAppendContention(int attempts);

    [LoggerMessage(EventId = 3004, EventName = "MongoReleaseFailed", Level = LogLevel.Warning, Message = "Could not release change-feed reservation {Position} ({ErrorType}); readers wait for it until it times out.")]
    private partial void LogReleaseFailed(long position, string errorType);

    [LoggerMessage(EventId = 3005, EventName = "MongoReplicationConflict", Level = LogLevel.Information, Message = "Replication removed {Count} local {Kind} document(s) that held the same unique key as replicated document {Id}.")]
    private partial void LogConflictRemoved(long count, DocumentKind kind, Guid id);
}
