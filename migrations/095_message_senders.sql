-- A service account reads the messages it sent (GET /v1/messages as a service key): the messages
-- requested by any API key of the account, newest first, without scanning everyone's messages.
CREATE INDEX IF NOT EXISTS messages_sender ON messages ((actor->>'kind'), (actor->>'id'), seq DESC);
