using System.Diagnostics.Metrics;
using ChitChat.Diagnostics;

namespace ChitChat.Replication;

/// <summary>Replication instruments on the <c>ChitChat</c> meter. Tags: <c>replica</c> (a configured name), and on repair counters <c>direction</c> or <c>difference</c> (low cardinality).</summary>
internal sealed class ReplicationMetrics
{
    public const string LagDocumentsName = ChitChatInstrumentNames.ReplicationLagDocuments;
    public const string LagSecondsName = ChitChatInstrumentNames.ReplicationLag;
    public const string DocumentsSyncedName = ChitChatInstrumentNames.ReplicationDocumentsSynced;
    public const string DocumentsRepairedName = ChitChatInstrumentNames.ReplicationDocumentsRepaired;
    public const string DocumentsUnrepairedName = ChitChatInstrumentNames.ReplicationDocumentsUnrepaired;
    public const string LastSyncName = ChitChatInstrumentNames.ReplicationLastSyncTime;

    public ReplicationMetrics(IMeterFactory meterFactory, ReplicaSet set)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(set);
        var meter = meterFactory.Create(ChitChatDiagnostics.MeterName);
        DocumentsSynced = meter.CreateCounter<long>(DocumentsSyncedName, "{document}", "Documents written to replicas by incremental sync.");
        DocumentsRepaired = meter.CreateCounter<long>(DocumentsRepairedName, "{document}", "Documents written by anti-entropy repair (tag replica; direction to-replica or to-primary).");
        DocumentsUnrepaired = meter.CreateCounter<long>(DocumentsUnrepairedName, "{document}", "Differing documents a repair left alone (tag replica; difference: MissingOnPrimary or OlderOnPrimary without RepairPrimary, Conflict).");
        meter.CreateObservableGauge(
            LagDocumentsName,
            () => set.Replicas.Select(r => new Measurement<long>(r.Status.LagDocuments, new KeyValuePair<string, object?>("replica", r.Name))),
            "{document}",
            "Primary change-feed positions not yet applied by the replica.");
        meter.CreateObservableGauge(
            LagSecondsName,
            () => set.Replicas.Select(r => new Measurement<double>(r.Status.Lag.TotalSeconds, new KeyValuePair<string, object?>("replica", r.Name))),
            "s",
            "Age of the oldest primary change not yet applied by the replica (0 when caught up).");
        meter.CreateObservableGauge(
            LastSyncName,
            () => set.Replicas.Where(r => r.Status.LastSuccessfulSyncAt is not null)
                .Select(r => new Measurement<double>(r.Status.LastSuccessfulSyncAt!.Value.ToUnixTimeMilliseconds() / 1000.0, new KeyValuePair<string, object?>("replica", r.Name))),
            "s",
            "Unix time of the last successful sync pass of the replica.");
    }

    public Counter<long> DocumentsSynced { get; }

    public Counter<long> DocumentsRepaired { get; }

    public Counter<long> DocumentsUnrepaired { get; }
}
