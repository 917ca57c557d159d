using Microsoft.Data.Sqlite;

namespace ChitChat.Sqlite;

/// <summary>
/// The schema and its migrations. The schema version is SQLite's <c>user_version</c> pragma; migration <c>n</c> moves the
/// database from version <c>n</c> to <c>n + 1</c> and runs in the same <c>BEGIN IMMEDIATE</c> transaction as the version
/// bump, so several processes starting at once migrate exactly once.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>The migrations, in order; append new ones, never edit a shipped one.</summary>
    private static readonly string[] Migrations =
    [
        // 0 -> 1: the initial schema.
        """
        CREATE TABLE users (
            id TEXT NOT NULL PRIMARY KEY,
            user_name TEXT NOT NULL,
            normalized_user_name TEXT NOT NULL,
            first_name TEXT NULL,
            last_name TEXT NULL,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            changed_at INTEGER NOT NULL);
        CREATE UNIQUE INDEX ux_users_normalized_user_name ON users (normalized_user_name);
        CREATE UNIQUE INDEX ux_users_position ON users (position);

        CREATE TABLE rooms (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            created_by TEXT NULL,
            created_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            changed_at INTEGER NOT NULL);
        CREATE UNIQUE INDEX ux_rooms_name ON rooms (name);
        CREATE UNIQUE INDEX ux_rooms_position ON rooms (position);

        CREATE TABLE messages (
            id TEXT NOT NULL PRIMARY KEY,
            room TEXT NOT NULL,
            seq INTEGER NOT NULL,
            author_id TEXT NOT NULL,
            author_name TEXT NOT NULL,
            text TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            client_message_id TEXT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            changed_at INTEGER NOT NULL);
        CREATE UNIQUE INDEX ux_messages_room_seq ON messages (room, seq);
        CREATE UNIQUE INDEX ux_messages_room_client_message_id ON messages (room, client_message_id) WHERE client_message_id IS NOT NULL;
        CREATE UNIQUE INDEX ux_messages_position ON messages (position);

        -- The next sequence number of each room. Kept in step with messages by every write, inside the write transaction.
        CREATE TABLE room_sequences (
            room TEXT NOT NULL PRIMARY KEY,
            last_seq INTEGER NOT NULL) WITHOUT ROWID;

        -- The global change position: every insert or replacement of a document takes the next one.
        CREATE TABLE change_position (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            position INTEGER NOT NULL);
        INSERT INTO change_position (id, position) VALUES (1, 0);

        CREATE TABLE replica_checkpoints (
            source_id TEXT NOT NULL PRIMARY KEY,
            position INTEGER NOT NULL,
            fencing_token INTEGER NOT NULL,
            updated_at INTEGER NOT NULL) WITHOUT ROWID;
        """,

        // 1 -> 2: the surface a message came in through (ChatMessage.Origin; NULL for ChitChat's own API). Adding a
        // nullable column without a default only rewrites the schema, not the rows, so large files upgrade at once.
        """
        ALTER TABLE messages ADD COLUMN origin TEXT NULL;
        """,

        // 2 -> 3: room kinds, topics and memberships (protocol version 2). Existing rooms become public (kind 0) with
        // membership version 0; constant defaults only rewrite the schema, not the rows.
        """
        ALTER TABLE rooms ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE rooms ADD COLUMN topic TEXT NULL;
        ALTER TABLE rooms ADD COLUMN membership_version INTEGER NOT NULL DEFAULT 0;
        -- The public rooms of every room list.
        CREATE INDEX ix_rooms_kind_name ON rooms (kind, name);

        -- One row per (room, user), never deleted: state 0 member, 1 left, 2 removed, 3 banned; role 0 member,
        -- 1 moderator, 2 owner; times are UTC ticks.
        CREATE TABLE memberships (
            room TEXT NOT NULL,
            user_id TEXT NOT NULL,
            user_name TEXT NOT NULL,
            state INTEGER NOT NULL,
            role INTEGER NOT NULL,
            muted_until INTEGER NULL,
            banned_until INTEGER NULL,
            ban_reason TEXT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            position INTEGER NOT NULL,
            changed_at INTEGER NOT NULL,
            PRIMARY KEY (room, user_id));
        CREATE UNIQUE INDEX ux_memberships_position ON memberships (position);
        -- A user's rooms (room list): memberships by user and state.
        CREATE INDEX ix_memberships_user_state ON memberships (user_id, state);
        -- A room's members in listing order, its bans, and its member count (covering).
        CREATE INDEX ix_memberships_room_state ON memberships (room, state, role, user_name);
        """,
    ];

    /// <summary>Gets the schema version this build creates and understands.</summary>
    public static int CurrentVersion => Migrations.Length;

    /// <summary>Switches the file to WAL and brings the schema to <see cref="CurrentVersion"/>.</summary>
    /// <param name="connection">An open connection.</param>
    /// <returns>The version found before migrating.</returns>
    public static int Migrate(SqliteConnection connection)
    {
        using (var wal = connection.CreateCommand())
        {
            // Persistent in the file: every later connection (of any process) uses the WAL.
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = Convert.ToString(wal.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"The SQLite database could not be switched to WAL mode (journal mode is '{mode}').");
            }
        }

        using var transaction = connection.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: one migrator at a time
        var found = ReadVersion(connection, transaction);
        if (found > CurrentVersion)
        {
            throw new InvalidOperationException(
                $"The SQLite database has schema version {found}, newer than the {CurrentVersion} this version of ChitChat.Sqlite understands. Upgrade the package.");
        }

        for (var version = found; version < CurrentVersion; version++)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[version] + $"\nPRAGMA user_version = {version + 1};";
            command.ExecuteNonQuery();
        }

        transaction.Commit();
        return found;
    }

    /// <summary>Reads the schema version.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="transaction">The current transaction, if any.</param>
    /// <returns>The version (0 for a new file).</returns>
    public static int ReadVersion(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
