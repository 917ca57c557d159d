namespace ChitChat.Cli;

/// <summary>The command line, parsed.</summary>
public sealed record ClientSettings(Uri Server, string? User, string? Password, bool Register, string Room, bool Json, int? History);
