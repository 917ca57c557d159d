namespace ChitChat.Diagnostics;

/// <summary>
/// The names of ChitChat's metric instruments (all on the <see cref="ChitChatDiagnostics.MeterName"/> meter) and of its
/// activities (on <see cref="ChitChatDiagnostics.ActivitySourceName"/>), defined once: the libraries create instruments by
/// these names, and dashboards and alerts can refer to them. <c>docs/observability.md</c> lists each one with its unit,
/// kind, tags and meaning. Prometheus names replace the dots with underscores and add the unit (<c>_seconds</c>) and,
/// on counters, <c>_total</c>: <see cref="MessagesSent"/> is scraped as <c>chitchat_messages_sent_total</c>.
/// </summary>
/// <remarks>
/// Tags never carry room names, user ids or message ids (cardinality). Names marked "reserved" are not emitted yet: they
/// arrive with the delivery backpressure work, and are defined now so that dashboards can already use them.
/// </remarks>
public static class ChitChatInstrumentNames
{
    /// <summary><c>chitchat.messages.sent</c>: counter of messages persisted (a deduplicated retry is not counted), unit <c>{message}</c>.</summary>
    public const string MessagesSent = "chitchat.messages.sent";

    /// <summary><c>chitchat.messages.updated</c>: counter of message changes stored (edits, deletes, reaction changes; a change
    /// that changed nothing is not counted), tag <c>change</c> (<c>edited</c>, <c>deleted</c>, <c>reactions</c>), unit <c>{message}</c>.</summary>
    public const string MessagesUpdated = "chitchat.messages.updated";

    /// <summary><c>chitchat.messages.rejected</c>: counter of sends rejected, tag <c>code</c> (a ChitChat error code), unit <c>{message}</c>.</summary>
    public const string MessagesRejected = "chitchat.messages.rejected";

    /// <summary><c>chitchat.message.send.duration</c>: histogram of the time to validate, persist and publish a message, unit <c>s</c>.</summary>
    public const string SendDuration = "chitchat.message.send.duration";

    /// <summary><c>chitchat.messages.delivered</c>: counter of messages delivered to client connections (one per local
    /// member of the room per message), unit <c>{message}</c>.</summary>
    public const string MessagesDelivered = "chitchat.messages.delivered";

    /// <summary><c>chitchat.delivery.events</c>: counter of room events the delivery engine handed to a sink (once per sink
    /// with members in the room, not per connection), tags <c>sink</c> (<c>signalr</c>, <c>legacy</c>) and <c>event</c>
    /// (<c>message</c>, <c>presence</c>, <c>typing</c>), unit <c>{event}</c>.</summary>
    public const string DeliveryEvents = "chitchat.delivery.events";

    /// <summary><c>chitchat.connections</c>: up-down counter of the client connections the delivery engine delivers to on
    /// this node (from a connection's first join until it closes), tag <c>sink</c>, unit <c>{connection}</c>.</summary>
    public const string Connections = "chitchat.connections";

    /// <summary><c>chitchat.delivery.queue_depth</c> (reserved): gauge of the events waiting to be written to connections, unit <c>{event}</c>.</summary>
    public const string DeliveryQueueDepth = "chitchat.delivery.queue_depth";

    /// <summary><c>chitchat.delivery.shed_connections</c> (reserved): counter of connections closed because they could not
    /// keep up with their rooms, tag <c>sink</c>, unit <c>{connection}</c>.</summary>
    public const string DeliveryShedConnections = "chitchat.delivery.shed_connections";

    /// <summary><c>chitchat.delivery.lag</c> (reserved): histogram of the time from a message's publication to its hand-over
    /// to the sinks, unit <c>s</c>.</summary>
    public const string DeliveryLag = "chitchat.delivery.lag";

    /// <summary><c>chitchat.replication.lag</c>: gauge of the age of the oldest primary change a replica has not applied
    /// (0 when caught up), tag <c>replica</c>, unit <c>s</c>. Package ChitChat.Replication.</summary>
    public const string ReplicationLag = "chitchat.replication.lag";

    /// <summary><c>chitchat.replication.lag.documents</c>: gauge of the primary change-feed positions a replica has not
    /// applied, tag <c>replica</c>, unit <c>{document}</c>. Package ChitChat.Replication.</summary>
    public const string ReplicationLagDocuments = "chitchat.replication.lag.documents";

    /// <summary><c>chitchat.replication.documents.synced</c>: counter of documents written to replicas by incremental sync,
    /// tag <c>replica</c>, unit <c>{document}</c>. Package ChitChat.Replication.</summary>
    public const string ReplicationDocumentsSynced = "chitchat.replication.documents.synced";

    /// <summary><c>chitchat.replication.documents.repaired</c>: counter of documents written by anti-entropy repair, tags
    /// <c>replica</c> and <c>direction</c>, unit <c>{document}</c>. Package ChitChat.Replication.</summary>
    public const string ReplicationDocumentsRepaired = "chitchat.replication.documents.repaired";

    /// <summary><c>chitchat.replication.documents.unrepaired</c>: counter of differing documents a repair left alone, tags
    /// <c>replica</c> and <c>difference</c>, unit <c>{document}</c>. Package ChitChat.Replication.</summary>
    public const string ReplicationDocumentsUnrepaired = "chitchat.replication.documents.unrepaired";

    /// <summary><c>chitchat.replication.last_sync.time</c>: gauge of the Unix time of a replica's last successful sync pass,
    /// tag <c>replica</c>, unit <c>s</c>. Package ChitChat.Replication.</summary>
    public const string ReplicationLastSyncTime = "chitchat.replication.last_sync.time";

    /// <summary><c>chitchat.send</c>: the activity of one send (validate, persist, publish).</summary>
    public const string SendActivity = "chitchat.send";

    /// <summary><c>chitchat.replication.sync</c>: the activity of one incremental sync pass.</summary>
    public const string ReplicationSyncActivity = "chitchat.replication.sync";

    /// <summary><c>chitchat.replication.verify</c>: the activity of an anti-entropy comparison that repairs nothing.</summary>
    public const string ReplicationVerifyActivity = "chitchat.replication.verify";

    /// <summary><c>chitchat.replication.repair</c>: the activity of an anti-entropy pass that repairs differences.</summary>
    public const string ReplicationRepairActivity = "chitchat.replication.repair";
}
