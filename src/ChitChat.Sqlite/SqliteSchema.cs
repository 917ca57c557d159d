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

        // 3 -> 4: the message lifecycle (protocol version 2): edits, tombstones, replies, reactions, mentions; update events
        // on the room's sequence; read markers; full-text search. Existing messages are version 1, not deleted, no reply.
        """
        ALTER TABLE messages ADD COLUMN edited_at INTEGER NULL;
        ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE messages ADD COLUMN reply_to TEXT NULL;
        ALTER TABLE messages ADD COLUMN thread_root TEXT NULL;
        -- JSON: [{"e": emoji, "u": [user ids]}], NULL when none.
        ALTER TABLE messages ADD COLUMN reactions TEXT NULL;
        -- JSON: [user ids], NULL when none.
        ALTER TABLE messages ADD COLUMN mentions TEXT NULL;
        -- A thread's replies in order, and a root's reply count.
        CREATE INDEX ix_messages_room_thread_root_seq ON messages (room, thread_root, seq) WHERE thread_root IS NOT NULL;

        -- The update events of each room's sequence (room_sequences.last_seq covers them too); immutable.
        CREATE TABLE message_updates (
            room TEXT NOT NULL,
            seq INTEGER NOT NULL,
            message_id TEXT NOT NULL,
            change INTEGER NOT NULL,
            message_version INTEGER NOT NULL,
            at INTEGER NOT NULL,
            position INTEGER NOT NULL,
            changed_at INTEGER NOT NULL,
            PRIMARY KEY (room, seq));
        CREATE UNIQUE INDEX ux_message_updates_position ON message_updates (position);

        -- Who each message mentions, kept by the triggers below from messages.mentions: the mention counts of the room list.
        CREATE TABLE message_mentions (
            user_id TEXT NOT NULL,
            room TEXT NOT NULL,
            seq INTEGER NOT NULL,
            author_id TEXT NOT NULL,
            PRIMARY KEY (user_id, room, seq)) WITHOUT ROWID;
        CREATE TRIGGER tr_messages_mentions_insert AFTER INSERT ON messages WHEN new.mentions IS NOT NULL BEGIN
            INSERT OR REPLACE INTO message_mentions (user_id, room, seq, author_id) SELECT value, new.room, new.seq, new.author_id FROM json_each(new.mentions);
        END;
        CREATE TRIGGER tr_messages_mentions_delete AFTER DELETE ON messages WHEN old.mentions IS NOT NULL BEGIN
            DELETE FROM message_mentions WHERE user_id IN (SELECT value FROM json_each(old.mentions)) AND room = old.room AND seq = old.seq;
        END;
        CREATE TRIGGER tr_messages_mentions_update AFTER UPDATE ON messages
            WHEN old.mentions IS NOT new.mentions OR old.room IS NOT new.room OR old.seq IS NOT new.seq OR old.author_id IS NOT new.author_id BEGIN
            DELETE FROM message_mentions WHERE old.mentions IS NOT NULL AND user_id IN (SELECT value FROM json_each(old.mentions)) AND room = old.room AND seq = old.seq;
            INSERT OR REPLACE INTO message_mentions (user_id, room, seq, author_id) SELECT value, new.room, new.seq, new.author_id FROM json_each(COALESCE(new.mentions, '[]'));
        END;

        -- Per (room, user): the last seq read; moves forward only.
        CREATE TABLE read_markers (
            room TEXT NOT NULL,
            user_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            position INTEGER NOT NULL,
            changed_at INTEGER NOT NULL,
            PRIMARY KEY (room, user_id));
        CREATE UNIQUE INDEX ux_read_markers_position ON read_markers (position);

        -- Full-text search over the current text of messages (external content: the text is stored once, in messages).
        -- The triggers keep it in the same statement, so in the same transaction, as every insert, update and delete of a
        -- message (an append, an edit, a delete, a replicated version). Every row is indexed (FTS5's integrity check wants
        -- the index and the table to hold the same rows): a tombstone's text is empty, so it has no words to match.
        CREATE VIRTUAL TABLE messages_fts USING fts5(text, content = 'messages', content_rowid = 'rowid', tokenize = "unicode61 remove_diacritics 2");
        CREATE TRIGGER tr_messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
        END;
        CREATE TRIGGER tr_messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
        END;
        CREATE TRIGGER tr_messages_fts_update AFTER UPDATE OF text ON messages WHEN old.text IS NOT new.text BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
            INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
        END;
        -- Index the messages already stored.
        INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
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
