// Package connstore keeps the live connections of a WebSocket API: their
// metadata (the user and authorizer data seen at $connect) and the channels
// they joined, so that a handler can broadcast to a channel or to everyone.
//
// Store is the interface; Memory (NewMemory) keeps everything in the process
// and is the default for local runs and tests; DynamoDB (NewDynamoDB) keeps it
// in one DynamoDB table made by CreateTable or by the template in SCHEMA.md,
// which also lists the IAM actions it needs. Members and Connections return
// streams of connection ids (iter.Seq2[string, error]) that read one page at a
// time, ready for a *sender.Client's Broadcast:
//
//	store.Add(ctx, req.ConnectionID, map[string]string{"user": name}) // $connect
//	store.Join(ctx, req.ConnectionID, "general")
//	snd.Broadcast(ctx, store.Members(ctx, "general"), msg, nil)
//	store.Remove(ctx, req.ConnectionID) // $disconnect, and for gone connections
//
// A channel is one DynamoDB partition, about 1,000 joins and leaves a second;
// DynamoDBOptions.ChannelShards spreads a big channel over several (SCHEMA.md,
// and docs/scale.md for when).
//
// Records whose $disconnect never came expire through DynamoDB's TTL, and are
// skipped by reads once expired. Every store checks ids, channel names and
// metadata against the same limits, DynamoDB's (see Store), and refuses what
// breaks them with ErrInvalid before changing anything.
//
// Package storetest is the contract test suite that every Store passes.
package connstore
