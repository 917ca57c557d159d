using System.Text.Json.Serialization;
using ChitChat.Transport;

namespace ChitChat.Redis;

/// <summary>What travels over a room channel: the event and the node that published it (to drop its own echo).</summary>
/// <param name="Node">The publishing node's id.</param>
/// <param name="Event">The event.</param>
internal sealed record RedisEnvelope(string Node, RoomEvent Event);

/// <summary>Source-generated serialization of <see cref="RedisEnvelope"/>; <see cref="RoomEvent"/> is polymorphic by its attributes.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RedisEnvelope))]
internal sealed partial class RedisJsonContext : JsonSerializerContext;
