using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ChitChat.Security;
using ChitChat.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.Accounts;

/// <summary>A registration request.</summary>
/// <param name="UserName">The user name: letters, digits, <c>_ . -</c>.</param>
/// <param name="Password">The password.</param>
/// <param name="FirstName">The optional first name.</param>
/// <param name="LastName">The optional last name.</param>
public sealed record RegisterRequest(string? UserName, string? Password, string? FirstName = null, string? LastName = null);

/// <summary>
/// User accounts: registration (validated, the password hashed by <see cref="IPasswordHasher"/>) and credential checks.
/// Hosts (HTTP, hub, legacy API) call it and translate its <see cref="ChatException"/>s to their wire format.
/// </summary>
/// <remarks>
/// A credential check costs the same for an unknown user as for a wrong password: it verifies against a dummy hash made by
/// the configured hasher, so the response time does not tell an attacker which user names exist.
/// </remarks>
public sealed partial class AccountService
{
    /// <summary>
    /// The <see cref="ChatUser.PasswordHash"/> of a user created from an external identity: no password verifies against
    /// it (credential checks refuse such users explicitly, whatever the configured hasher).
    /// </summary>
    public const string ExternalUserPasswordHash = "external";

    // The namespace of the name-based (version 5) user ids of external identities, fixed forever: changing it would give
    // every external user a new account.
    private static readonly Guid ExternalUserNamespace = new("5b1c8f0e-3d4a-4e0b-9c61-2f7a9d8e4c13");

    private readonly IChatStore _store;
    private readonly IPasswordHasher _hasher;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AccountService> _logger;

    // Verified against when the user is unknown, so that an unknown user costs the same as a wrong password:
    // made by the configured hasher, hence with the configured work factor.
    private readonly Lazy<string> _dummyHash;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="hasher">The password hasher.</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public AccountService(IChatStore store, IPasswordHasher hasher, IOptions<ChitChatOptions> options, TimeProvider time, ILogger<AccountService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(hasher);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _hasher = hasher;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _dummyHash = new Lazy<string>(() => hasher.Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));
    }

    /// <summary>Registers a user.</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The new user.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.UserExists"/>.</exception>
    public async Task<ChatUser> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, string[]>();
        var userName = request.UserName?.Trim();
        if (string.IsNullOrEmpty(userName))
        {
            errors["userName"] = ["A user name is required."];
        }
        else if (userName.Length < _options.MinUserNameLength || userName.Length > _options.MaxUserNameLength || !UserNameRegex().IsMatch(userName))
        {
            errors["userName"] = [string.Create(CultureInfo.InvariantCulture, $"A user name is {_options.MinUserNameLength} to {_options.MaxUserNameLength} characters of letters, digits, '_', '.' and '-'.")];
        }

        if (string.IsNullOrEmpty(request.Password))
        {
            errors["password"] = ["A password is required."];
        }
        else if (request.Password.Length < _options.MinPasswordLength || request.Password.Length > _options.MaxPasswordLength)
        {
            errors["password"] = [string.Create(CultureInfo.InvariantCulture, $"A password is {_options.MinPasswordLength} to {_options.MaxPasswordLength} characters.")];
        }

        var firstName = ValidatePersonName(request.FirstName, "firstName", errors);
        var lastName = ValidatePersonName(request.LastName, "lastName", errors);
        if (errors.Count > 0)
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The registration is not valid.", errors);
        }

        var now = _time.GetUtcNow();
        var user = new ChatUser(Guid.CreateVersion7(now), userName!, firstName, lastName, _hasher.Hash(request.Password!), now, now, 1);
        if (!await _store.Users.TryCreateAsync(user, cancellationToken).ConfigureAwait(false))
        {
            throw new ChatException(ChatErrorCodes.UserExists, $"The user name '{userName}' is taken.");
        }

        LogUserRegistered(user.Id);
        return user;
    }

    /// <summary>Verifies a user name and password, taking the same time whether or not the user exists.</summary>
    /// <param name="userName">The user name (any case).</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.InvalidCredentials"/> when the user is unknown or the password is wrong.</exception>
    public async Task<ChatUser> VerifyCredentialsAsync(string? userName, string? password, CancellationToken cancellationToken = default)
    {
        ChatUser? user = null;
        if (!string.IsNullOrWhiteSpace(userName) && userName.Length <= _options.MaxUserNameLength)
        {
            user = await _store.Users.FindByNameAsync(userName.Trim(), cancellationToken).ConfigureAwait(false);
        }

        password ??= string.Empty;
        if (password.Length > _options.MaxPasswordLength)
        {
            password = string.Empty;
            user = null;
        }

        // Always run one verification so that an unknown user costs the same as a wrong password. A user of an external
        // identity has no password: verified against the dummy hash (same cost) and refused.
        var external = user?.PasswordHash == ExternalUserPasswordHash;
        var ok = _hasher.Verify(user is null || external ? _dummyHash.Value : user.PasswordHash, password) && user is not null && !external;
        if (!ok)
        {
            LogInvalidCredentials();
            throw new ChatException(ChatErrorCodes.InvalidCredentials, "The user name or password is incorrect.");
        }

        return user!;
    }

    /// <summary>
    /// Maps an identity of an external (OpenID Connect) issuer to its ChitChat user, creating the user on first sight.
    /// The user id is a name-based (version 5) UUID of the issuer and the subject, so the same identity always maps to the
    /// same user, on every node and without a stored mapping; it cannot equal the id of a registered user (version 7).
    /// The user name is taken at creation only (a later change at the issuer keeps the ChitChat name) and must be a valid
    /// ChitChat user name that no other account holds: an external identity never takes over an existing account.
    /// </summary>
    /// <param name="issuer">The validated issuer (<c>iss</c>).</param>
    /// <param name="subject">The issuer's stable id of the user (its configured claim).</param>
    /// <param name="userName">The user name the issuer gives (its configured claim); only used on first sight.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.Unauthorized"/> without an issuer or subject;
    /// <see cref="ChatErrorCodes.Forbidden"/> when the user is new and the name is not valid or belongs to another account.</exception>
    public async Task<ChatUser> SignInExternalAsync(string issuer, string subject, string? userName, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(issuer) || string.IsNullOrEmpty(subject))
        {
            throw new ChatException(ChatErrorCodes.Unauthorized, "The token names no issuer or subject.");
        }

        var id = ExternalUserId(issuer, subject);
        var user = await _store.Users.FindByIdAsync(id, cancellationToken).ConfigureAwait(false);
        if (user is not null)
        {
            return user;
        }

        var name = userName?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length < _options.MinUserNameLength || name.Length > _options.MaxUserNameLength || !UserNameRegex().IsMatch(name))
        {
            throw new ChatException(
                ChatErrorCodes.Forbidden,
                string.Create(CultureInfo.InvariantCulture, $"The external identity's user name is not a valid ChitChat user name ({_options.MinUserNameLength} to {_options.MaxUserNameLength} characters of letters, digits, '_', '.' and '-')."));
        }

        var now = _time.GetUtcNow();
        user = new ChatUser(id, name, null, null, ExternalUserPasswordHash, now, now, 1);
        if (await _store.Users.TryCreateAsync(user, cancellationToken).ConfigureAwait(false))
        {
            LogExternalUserCreated(id);
            return user;
        }

        // Either the same identity was created concurrently (another request or node), or the name belongs to someone else.
        var existing = await _store.Users.FindByIdAsync(id, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return existing;
        }

        LogExternalUserNameTaken(id);
        throw new ChatException(ChatErrorCodes.Forbidden, $"The user name '{name}' of this external identity belongs to another ChitChat account.");
    }

    /// <summary>Gets the user id of an external identity: the version 5 UUID of <c>issuer</c>, a line feed and <c>subject</c>.</summary>
    /// <param name="issuer">The issuer.</param>
    /// <param name="subject">The subject.</param>
    /// <returns>The user id.</returns>
    public static Guid ExternalUserId(string issuer, string subject)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(subject);

        // RFC 9562 section 5.5: SHA-1 over the namespace (network byte order) and the name.
        var name = Encoding.UTF8.GetBytes(issuer + "\n" + subject);
        var input = new byte[16 + name.Length];
        ExternalUserNamespace.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input, 16);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    /// <summary>The user directory: users whose name starts with <paramref name="prefix"/> (ignoring case), by name.</summary>
    /// <param name="prefix">The prefix (<see langword="null"/> or empty lists the first users).</param>
    /// <param name="limit">The most users to return, 1 to 100 (default 20).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> for a limit out of range or a prefix longer than a user name.</exception>
    public Task<IReadOnlyList<ChatUser>> SearchUsersAsync(string? prefix, int? limit, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 100)
        {
            throw ChatException.Validation("limit", "limit is 1 to 100.");
        }

        if (prefix is not null && prefix.Length > _options.MaxUserNameLength)
        {
            throw ChatException.Validation("search", $"search is at most {_options.MaxUserNameLength} characters.");
        }

        return _store.Users.SearchByNamePrefixAsync(prefix ?? string.Empty, limit ?? 20, cancellationToken);
    }

    /// <summary>Finds a user by id.</summary>
    /// <param name="userId">The id.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user or <see langword="null"/>.</returns>
    public Task<ChatUser?> FindUserAsync(Guid userId, CancellationToken cancellationToken = default) =>
        _store.Users.FindByIdAsync(userId, cancellationToken);

    private string? ValidatePersonName(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        if (value.Length > _options.MaxPersonNameLength || value.Any(char.IsControl))
        {
            errors[field] = [string.Create(CultureInfo.InvariantCulture, $"At most {_options.MaxPersonNameLength} characters, no control characters.")];
        }

        return value;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex UserNameRegex();

    [LoggerMessage(EventId = 1001, EventName = "UserRegistered", Level = LogLevel.Information, Message = "User {UserId} registered.")]
    private partial void LogUserRegistered(Guid userId);

    [LoggerMessage(EventId = 1006, EventName = "ExternalUserCreated", Level = LogLevel.Information, Message = "User {UserId} created on first sight of an external identity.")]
    private partial void LogExternalUserCreated(Guid userId);

    [LoggerMessage(EventId = 1007, EventName = "ExternalUserNameTaken", Level = LogLevel.Warning, Message = "External identity {UserId} refused: its user name belongs to another account.")]
    private partial void LogExternalUserNameTaken(Guid userId);

    [LoggerMessage(EventId = 1002, EventName = "InvalidCredentials", Level = LogLevel.Information, Message = "A login failed: invalid credentials.")]
    private partial void LogInvalidCredentials();
}
