using System.Runtime.Serialization;

namespace ChitChat.Contracts;

/// <summary>The body of <c>POST /api/auth/register</c>.</summary>
/// <param name="UserName">The user name.</param>
/// <param name="Password">The password.</param>
/// <param name="FirstName">The optional first name.</param>
/// <param name="LastName">The optional last name.</param>
public sealed record RegisterBody(string? UserName, string? Password, string? FirstName = null, string? LastName = null);

/// <summary>The body of <c>POST /api/auth/login</c>.</summary>
/// <param name="UserName">The user name.</param>
/// <param name="Password">The password.</param>
public sealed record LoginBody(string? UserName, string? Password);

/// <summary>A user as the API shows it (the answer of register, the user of a login).</summary>
/// <param name="Id">The user id.</param>
/// <param name="UserName">The user name.</param>
[DataContract]
public sealed record UserDto(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "userName")] string UserName);

/// <summary>The response of <c>POST /api/auth/login</c>.</summary>
/// <param name="AccessToken">The bearer token.</param>
/// <param name="ExpiresAt">When it expires (UTC).</param>
/// <param name="User">The user.</param>
public sealed record LoginResponse(string AccessToken, DateTime ExpiresAt, UserDto User);
