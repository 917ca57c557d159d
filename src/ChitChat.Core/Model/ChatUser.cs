namespace ChitChat;

/// <summary>A registered chat user.</summary>
/// <param name="Id">The stable identifier of the user.</param>
/// <param name="UserName">The user name as typed at registration; unique ignoring case.</param>
/// <param name="FirstName">The optional first name.</param>
/// <param name="LastName">The optional last name.</param>
/// <param name="PasswordHash">The password hash (see <see cref="Security.IPasswordHasher"/>); never the plain text.</param>
/// <param name="CreatedAt">When the user was created (server time, UTC).</param>
/// <param name="UpdatedAt">When the user was last changed (server time, UTC).</param>
/// <param name="Version">The document version; starts at 1 and grows with every change (last writer wins in replication).</param>
public sealed record ChatUser(
    Guid Id,
    string UserName,
    string? FirstName,
    string? LastName,
    string PasswordHash,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Version)
{
    /// <summary>Gets the normalized (upper-invariant) user name that uniqueness is checked on.</summary>
    public string NormalizedUserName => Normalize(UserName);

    /// <summary>Gets the name to display: first and last name when present, otherwise the user name.</summary>
    public string DisplayName =>
        string.IsNullOrWhiteSpace(FirstName) && string.IsNullOrWhiteSpace(LastName)
            ? UserName
            : $"{FirstName} {LastName}".Trim();

    /// <summary>Normalizes a user name for case-insensitive comparison.</summary>
    /// <param name="userName">The user name.</param>
    /// <returns>The upper-invariant form.</returns>
    public static string Normalize(string userName)
    {
        ArgumentNullException.ThrowIfNull(userName);
        return userName.ToUpperInvariant();
    }
}
