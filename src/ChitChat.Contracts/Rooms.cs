namespace ChitChat.Contracts;

/// <summary>The body of <c>POST /api/rooms</c>.</summary>
/// <param name="Name">The room name (a slug).</param>
public sealed record CreateRoomBody(string? Name);

/// <summary>A room as the API shows it.</summary>
/// <param name="Id">The room id.</param>
/// <param name="Name">The room name.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
public sealed record RoomDto(Guid Id, string Name, DateTime CreatedAt);
