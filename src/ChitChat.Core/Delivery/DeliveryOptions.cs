using System.ComponentModel.DataAnnotations;

namespace ChitChat.Delivery;

/// <summary>Options of the delivery engine, bound from configuration section <c>ChitChat:Delivery</c> and validated at start-up.</summary>
public sealed class DeliveryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "ChitChat:Delivery";

    /// <summary>Gets or sets how long a message that arrived ahead of its predecessor is held before the gap is filled from
    /// the store. Concurrent senders publish in the order their appends complete, not in <c>seq</c> order, so a missing
    /// message is usually microseconds behind; only a transport that lost it (a Redis outage) keeps the gap open.</summary>
    /// <value>200 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan ReorderWindow { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Gets or sets how many messages may be held ahead of a gap before it is filled from the store without
    /// waiting for the rest of <see cref="ReorderWindow"/>.</summary>
    /// <value>1024.</value>
    [Range(1, 1_000_000)]
    public int MaxHeldMessages { get; set; } = 1024;

    /// <summary>Gets or sets the page size of one store read when the engine fills a gap.</summary>
    /// <value>500.</value>
    [Range(1, 10_000)]
    public int GapFillPageSize { get; set; } = 500;
}
