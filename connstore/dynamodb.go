package connstore

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of the aws-sdk-go-v2 DynamoDB client that the
// DynamoDB store calls. *dynamodb.Client implements it.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// DynamoDBOptions are the optional settings of NewDynamoDB. The zero value
// (or nil) means the defaults documented on each field.
type DynamoDBOptions struct {
	// PageSize is the Limit of each Query made by Members and Connections:
	// the most ids a stream holds in memory. Default 500.
	PageSize int32

	// Shards is the number of partitions of the connections index that
	// Connections reads, so that adding connections does not write to a
	// single hot index partition. Default 4. It may grow but must never
	// shrink for an existing table: connections in a dropped shard would no
	// longer be listed.
	Shards int

	// ChannelShards, when not nil, returns the number of partitions the
	// members of a channel are spread over (write sharding): a channel is
	// one DynamoDB partition, which takes at most 1,000 writes (joins and
	// leaves) per second, and a Members listing of it at most 3,000 reads
	// per second (docs/scale.md has the arithmetic).
	// A member of a channel of N > 1 shards is written to the partition
	// "chan<k>#"+channel, k a hash of its id modulo N (one that joined
	// before, with no or fewer shards, stays where it is), and Members
	// queries the N partitions in parallel (and the unsharded one, so that
	// members who joined before the channel was sharded are still listed),
	// merging them into one stream. Values below 2 mean unsharded; above 1,000,
	// 1,000. N may grow, never shrink, for a channel that has members:
	// those in a dropped shard would no longer be listed. Every process
	// using the table must give the same N (it is called concurrently).
	// Default nil: no channel is sharded.
	ChannelShards func(channel string) int

	// TTL is how long after it connected a connection's records expire if
	// they were never removed (its $disconnect never came). Default 2h15m:
	// API Gateway closes connections after 2 hours.
	TTL time.Duration
}

// Names in the table; see SCHEMA.md.
const (
	attrPK      = "pk"
	attrSK      = "sk"
	attrTTL     = "ttl"
	attrID      = "id"  // connection id: connection items (index sort key) and membership items
	attrShard   = "gpk" // index partition key: only on connection items (a sparse index)
	attrAt      = "at"  // connected at, Unix nanoseconds
	attrGen     = "gen" // random per Add: tells a re-added id from the one a Join started with
	attrTok     = "tok" // random per Join, on both membership items
	attrVer     = "ver" // incremented by every Update that sets keys: its condition
	attrChannel = "ch"
	attrCPK     = "cpk" // on a membership item on the connection's partition: the pk of its channel-side item, when sharded
	metaPrefix  = "m:"  // metadata key k is stored as attribute "m:k"

	connPrefix = "conn#"
	chanPrefix = "chan#"
	metaSK     = "meta"

	indexName = "connections"
)

// DynamoDB is a Store in an Amazon DynamoDB table with the schema of
// CreateTable (SCHEMA.md has it, with the IAM actions it needs).
//
// Joins and leaves use plain conditional writes, no transactions, so that a
// call that fails half-way leaves at worst a record the next Remove or the
// TTL deletes, and never a channel member that Remove cannot find.
// Reads of the table are strongly consistent; Connections reads an index and
// is eventually consistent.
type DynamoDB struct {
	client   DynamoDBAPI
	table    string
	pageSize int32
	shards   int
	chShards func(channel string) int
	ttl      time.Duration
	now      func() time.Time
}

var _ Store = (*DynamoDB)(nil)

// NewDynamoDB returns a Store that keeps connections in table, through client
// (usually a *dynamodb.Client). opts may be nil.
func NewDynamoDB(client DynamoDBAPI, table string, opts *DynamoDBOptions) *DynamoDB {
	if client == nil {
		panic("connstore: NewDynamoDB with a nil client")
	}
	if table == "" {
		panic("connstore: NewDynamoDB with an empty table name")
	}
	s := &DynamoDB{client: client, table: table, pageSize: 500, shards: 4, ttl: 2*time.Hour + 15*time.Minute, now: time.Now}
	if opts != nil {
		if opts.PageSize > 0 {
			s.pageSize = opts.PageSize
		}
		if opts.Shards > 0 {
			s.shards = opts.Shards
		}
		if opts.TTL > 0 {
			s.ttl = opts.TTL
		}
		s.chShards = opts.ChannelShards
	}
	return s
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func connKey(id string) map[string]types.AttributeValue { return key(connPrefix+id, metaSK) }

// reverseKey is the membership item on the connection's partition, which
// Remove and Get find with one Query.
func reverseKey(id, channel string) map[string]types.AttributeValue {
	return key(connPrefix+id, chanPrefix+channel)
}

// memberKey is the membership item on the channel's partition pk (see
// memberPK), which Members queries.
func memberKey(pk, id string) map[string]types.AttributeValue {
	return key(pk, connPrefix+id)
}

// maxChannelShards bounds DynamoDBOptions.ChannelShards.
const maxChannelShards = 1000

// channelShards returns the number of shards of channel, 1 when unsharded.
func (s *DynamoDB) channelShards(channel string) int {
	if s.chShards == nil {
		return 1
	}
	return min(max(s.chShards(channel), 1), maxChannelShards)
}

// shardPK is the partition key of shard k of a sharded channel. It cannot
// be an unsharded channel's "chan#NAME", nor another channel's shard, as
// "chan#NAME#k" could ("#" may be in a channel's name).
func shardPK(channel string, k int) string { return "chan" + strconv.Itoa(k) + "#" + channel }

// memberPK returns the partition key of the item that makes id a member of
// channel on the channel's side, where a Join writes it.
func (s *DynamoDB) memberPK(id, channel string) string {
	n := s.channelShards(channel)
	if n == 1 {
		return chanPrefix + channel
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return shardPK(channel, int(h.Sum32()%uint32(n)))
}

// membership is a channel a connection joined, read from the membership
// item on the connection's partition.
type membership struct {
	channel string
	pk      string // the channel-side item's partition key
}

// membershipOf returns the membership a connection-side membership item
// (its sk, and cpk when it has one) records for channel. Items written
// before sharding, or for an unsharded channel, have no cpk.
func membershipOf(item map[string]types.AttributeValue, channel string) membership {
	m := membership{channel: channel, pk: getS(item, attrCPK)}
	if m.pk == "" {
		m.pk = chanPrefix + channel
	}
	return m
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func token() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read panics instead)
	return hex.EncodeToString(b[:])
}

func (s *DynamoDB) shard(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return "conns#" + strconv.Itoa(int(h.Sum32()%uint32(s.shards)))
}

// Add implements Store. Adding an id that is stored and not expired
// refreshes the TTL of its memberships to the new connection item's.
func (s *DynamoDB) Add(ctx context.Context, id string, metadata map[string]string) error {
	if err := checkID("add", id); err != nil {
		return err
	}
	if err := checkMetadata("add", metadata); err != nil {
		return err
	}
	now := s.now()
	ttl := num(now.Add(s.ttl).Unix())
	item := connKey(id)
	item[attrID] = str(id)
	item[attrShard] = str(s.shard(id))
	item[attrAt] = num(now.UnixNano())
	item[attrTTL] = ttl
	item[attrGen] = str(token())
	for k, v := range metadata {
		if k != "" && v != "" {
			item[metaPrefix+k] = str(v)
		}
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return wrap(err, "add %q", id)
	}
	if len(out.Attributes) > 0 && !s.expired(out.Attributes) {
		return s.refreshMemberships(ctx, id, ttl)
	}
	return nil
}

// refreshMemberships sets the TTL of the connection's membership items, the
// connection's before the channel's, so that a failure half-way leaves at
// worst a channel item that expires first. It never creates an item that a
// racing Leave or Remove deleted.
func (s *DynamoDB) refreshMemberships(ctx context.Context, id string, ttl types.AttributeValue) error {
	for m, err := range s.memberships(ctx, id) {
		if err != nil {
			return wrap(err, "add %q: refresh its channels' TTL", id)
		}
		channel := m.channel
		for _, key := range []map[string]types.AttributeValue{reverseKey(id, channel), memberKey(m.pk, id)} {
			_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 &s.table,
				Key:                       key,
				UpdateExpression:          ptr("SET #ttl = :ttl"),
				ConditionExpression:       ptr("attribute_exists(#pk)"),
				ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#ttl": attrTTL},
				ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": ttl},
			})
			if err != nil && !isConditionFailed(err) {
				return wrap(err, "add %q: refresh the TTL of channel %q", id, channel)
			}
		}
	}
	return nil
}

// memberships streams the connection's membership items (expired or not),
// 100 at a time.
func (s *DynamoDB) memberships(ctx context.Context, id string) iter.Seq2[membership, error] {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            ptr(true),
		KeyConditionExpression:    ptr("#pk = :pk AND begins_with(#sk, :chan)"),
		ProjectionExpression:      ptr("#sk, #cpk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK, "#cpk": attrCPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(connPrefix + id), ":chan": str(chanPrefix)},
		Limit:                     ptr(int32(100)),
	}
	return func(yield func(membership, error) bool) {
		for item, err := range s.query(ctx, in) {
			if err != nil {
				yield(membership{}, err)
				return
			}
			if !yield(membershipOf(item, strings.TrimPrefix(getS(item, attrSK), chanPrefix)), nil) {
				return
			}
		}
	}
}

// Get implements Store.
func (s *DynamoDB) Get(ctx context.Context, id string) (*Connection, error) {
	if err := checkID("get", id); err != nil {
		return nil, err
	}
	var c *Connection
	var channels []string
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            ptr(true),
		KeyConditionExpression:    ptr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(connPrefix + id)},
	}
	for item, err := range s.query(ctx, in) {
		if err != nil {
			return nil, wrap(err, "get %q", id)
		}
		sk := getS(item, attrSK)
		switch {
		case sk == metaSK:
			if s.expired(item) {
				continue
			}
			c = &Connection{ID: id, ConnectedAt: time.Unix(0, getN(item, attrAt)), Metadata: metadataOf(item)}
		case strings.HasPrefix(sk, chanPrefix) && !s.expired(item):
			channels = append(channels, strings.TrimPrefix(sk, chanPrefix))
		}
	}
	if c == nil {
		return nil, notFound(id)
	}
	sort.Strings(channels)
	c.Channels = channels
	return c, nil
}

// ConnectedAt returns when the connection was added. ws.StoreChannels uses
// it so as not to remove a connection that is still in its $connect.
func (s *DynamoDB) ConnectedAt(ctx context.Context, id string) (time.Time, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	return c.ConnectedAt, nil
}

func (s *DynamoDB) expired(item map[string]types.AttributeValue) bool {
	ttl := getN(item, attrTTL)
	return ttl != 0 && ttl <= s.now().Unix()
}

// maxUpdateAttempts bounds the rounds of an Update that sets keys while
// other Updates of the same connection keep changing it.
const maxUpdateAttempts = 10

// Update implements Store. When it sets a key, it reads the connection item,
// checks the metadata it would leave against the limits, and writes under
// the condition that the item is still the one it read (same `gen` and
// `ver`; every such write increments `ver`). When a concurrent Update or Add
// changed it in between, it reads again and checks again, so that two
// Updates that each fit alone never leave metadata over the limits: the
// later one fails with ErrInvalid. It gives up with an error after 10 such
// rounds.
func (s *DynamoDB) Update(ctx context.Context, id string, metadata map[string]string) error {
	if err := checkID("update", id); err != nil {
		return err
	}
	if err := checkMetadata("update", metadata); err != nil {
		return err
	}
	names := map[string]string{"#pk": attrPK, "#ttl": attrTTL}
	values := map[string]types.AttributeValue{":now": num(s.now().Unix())}
	var set, remove []string
	i := 0
	for k, v := range metadata {
		if k == "" {
			continue
		}
		n := "#m" + strconv.Itoa(i)
		names[n] = metaPrefix + k
		if v == "" {
			remove = append(remove, n)
		} else {
			values[":m"+strconv.Itoa(i)] = str(v)
			set = append(set, n+" = :m"+strconv.Itoa(i))
		}
		i++
	}
	var expr string
	if len(set) > 0 {
		expr = "SET " + strings.Join(set, ", ")
	}
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	if expr == "" { // nothing to change: only report whether it exists
		_, err := s.Get(ctx, id)
		return err
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       connKey(id),
		UpdateExpression:          ptr(strings.TrimSpace(expr)),
		ConditionExpression:       ptr("attribute_exists(#pk) AND #ttl > :now"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	if len(set) == 0 {
		// Only deletions: nothing to check, and nothing a concurrent
		// Update could push over the limits.
		_, err := s.client.UpdateItem(ctx, in)
		if isConditionFailed(err) {
			return notFound(id)
		}
		if err != nil {
			return wrap(err, "update %q", id)
		}
		return nil
	}
	names["#gen"], names["#ver"] = attrGen, attrVer
	values[":one"] = num(1)
	in.UpdateExpression = ptr(strings.TrimSpace(expr) + " ADD #ver :one")
	for range maxUpdateAttempts {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: connKey(id), ConsistentRead: ptr(true)})
		if err != nil {
			return wrap(err, "update %q", id)
		}
		if len(out.Item) == 0 || s.expired(out.Item) {
			return notFound(id)
		}
		if _, err := merge("update", metadataOf(out.Item), metadata); err != nil {
			return err
		}
		cond := "attribute_exists(#pk) AND #ttl > :now"
		for _, a := range []struct{ name, value string }{{"#gen", ":gen"}, {"#ver", ":ver"}} {
			if v, ok := out.Item[names[a.name]]; ok {
				cond += " AND " + a.name + " = " + a.value
				values[a.value] = v
			} else {
				cond += " AND attribute_not_exists(" + a.name + ")"
				delete(values, a.value)
			}
		}
		in.ConditionExpression = &cond
		_, err = s.client.UpdateItem(ctx, in)
		if isConditionFailed(err) {
			continue // changed, removed or expired since the read: read again
		}
		if err != nil {
			return wrap(err, "update %q", id)
		}
		return nil
	}
	return fmt.Errorf("connstore: update %q: the connection changed under %d attempts in a row (concurrent Updates)", id, maxUpdateAttempts)
}

// metadataOf returns the metadata of a connection item.
func metadataOf(item map[string]types.AttributeValue) map[string]string {
	md := map[string]string{}
	for name, v := range item {
		if k, ok := strings.CutPrefix(name, metaPrefix); ok {
			if v, ok := v.(*types.AttributeValueMemberS); ok {
				md[k] = v.Value
			}
		}
	}
	return md
}

// Remove implements Store. It deletes the connection item first, so that
// Joins racing it fail, then every membership it finds on the connection's
// partition: the channel's item before the connection's, so that a Remove
// that fails half-way can be retried and still finds what is left.
func (s *DynamoDB) Remove(ctx context.Context, id string) error {
	if err := checkID("remove", id); err != nil {
		return err
	}
	if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: connKey(id)}); err != nil {
		return wrap(err, "remove %q", id)
	}
	var channels []membership
	for m, err := range s.memberships(ctx, id) {
		if err != nil {
			return wrap(err, "remove %q", id)
		}
		channels = append(channels, m)
		if len(channels) == 100 {
			if err := s.removeMemberships(ctx, id, channels); err != nil {
				return err
			}
			channels = channels[:0]
		}
	}
	return s.removeMemberships(ctx, id, channels)
}

func (s *DynamoDB) removeMemberships(ctx context.Context, id string, channels []membership) error {
	if len(channels) == 0 {
		return nil
	}
	var members, reverse []types.WriteRequest
	for _, m := range channels {
		members = append(members, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: memberKey(m.pk, id)}})
		reverse = append(reverse, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: reverseKey(id, m.channel)}})
	}
	if err := s.batchWrite(ctx, members); err != nil {
		return wrap(err, "remove %q from its channels", id)
	}
	if err := s.batchWrite(ctx, reverse); err != nil {
		return wrap(err, "remove %q from its channels", id)
	}
	return nil
}

// batchWrite writes reqs in batches of 25, resending unprocessed items with
// a backoff, and fails if some are still unprocessed after a few rounds.
func (s *DynamoDB) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), 25)
		batch := reqs[:n]
		reqs = reqs[n:]
		for attempt := 0; len(batch) > 0; attempt++ {
			if attempt == 8 {
				return fmt.Errorf("%d items still unprocessed after %d BatchWriteItem calls (throttled)", len(batch), attempt)
			}
			if attempt > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(25<<attempt) * time.Millisecond):
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.table: batch},
			})
			if err != nil {
				return err
			}
			batch = out.UnprocessedItems[s.table]
		}
	}
	return nil
}

// Join implements Store.
//
// Without transactions, Join writes the connection's membership item, then
// the channel's, then checks again that the connection is still the one it
// joined (a racing Remove) and that its membership item is still its own (a
// racing Leave); when one of them won, Join deletes what it wrote, under a
// condition on its random token so that it never deletes another Join's
// items.
func (s *DynamoDB) Join(ctx context.Context, id, channel string) error {
	if err := checkChannel("join", id, channel); err != nil {
		return err
	}
	fail := func(err error) error { return wrap(err, "join %q to %q", id, channel) }

	conn, err := s.getItem(ctx, connKey(id), attrGen, attrTTL)
	if err != nil {
		return fail(err)
	}
	if conn == nil || s.expired(conn) {
		return notFound(id)
	}
	gen, ttl, tok := getS(conn, attrGen), conn[attrTTL], str(token())
	pk := s.memberPK(id, channel)
	if s.channelShards(channel) > 1 {
		// A member stays on the partition it joined (before the channel
		// was sharded, or had fewer shards): moved, it would be missing
		// from a listing that read its new partition before the move and
		// its old one after.
		old, err := s.getItem(ctx, reverseKey(id, channel), attrSK, attrCPK)
		if err != nil {
			return fail(err)
		}
		if old != nil {
			pk = membershipOf(old, channel).pk
		}
	}

	rev := reverseKey(id, channel)
	rev[attrChannel] = str(channel)
	rev[attrTTL] = ttl
	rev[attrTok] = tok
	if pk != chanPrefix+channel {
		rev[attrCPK] = str(pk)
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: rev, ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return fail(err)
	}
	member := memberKey(pk, id)
	member[attrID] = str(id)
	member[attrTTL] = ttl
	member[attrTok] = tok
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: member}); err != nil {
		return fail(err)
	}
	if old := out.Attributes; len(old) > 0 {
		// Joined on another partition meanwhile (by a process with other
		// ChannelShards, during a deploy) or before (a channel no longer
		// sharded): delete that item now that the new one is written, not
		// before, so that no listing misses the connection meanwhile.
		if m := membershipOf(old, channel); m.pk != pk && old[attrTok] != nil {
			if err := s.deleteIfToken(ctx, memberKey(m.pk, id), old[attrTok]); err != nil {
				return fail(err)
			}
		}
	}

	conn, err = s.getItem(ctx, connKey(id), attrGen)
	if err != nil {
		return fail(err)
	}
	if conn == nil || getS(conn, attrGen) != gen { // removed (or removed and added again) meanwhile
		if err := s.deleteIfToken(ctx, memberKey(pk, id), tok); err != nil {
			return fail(err)
		}
		if err := s.deleteIfToken(ctx, reverseKey(id, channel), tok); err != nil {
			return fail(err)
		}
		return notFound(id)
	}
	rev, err = s.getItem(ctx, reverseKey(id, channel), attrTok)
	if err != nil {
		return fail(err)
	}
	if rev == nil { // a Leave ran meanwhile: it comes after this Join
		if err := s.deleteIfToken(ctx, memberKey(pk, id), tok); err != nil {
			return fail(err)
		}
	}
	// A different token means a concurrent Join of the same pair: both
	// items exist, whichever Join wrote them.
	return nil
}

// Leave implements Store. It deletes the channel's membership item, then the
// connection's, then once more the channel's item if a racing Join wrote it
// in between (under that Join's token).
func (s *DynamoDB) Leave(ctx context.Context, id, channel string) error {
	if err := checkChannel("leave", id, channel); err != nil {
		return err
	}
	fail := func(err error) error { return wrap(err, "leave %q from %q", id, channel) }
	pk := chanPrefix + channel
	if s.channelShards(channel) > 1 {
		// The channel-side item is where the Join wrote it, which the
		// connection-side item says (a Join before the channel was sharded,
		// or had fewer shards, wrote it elsewhere).
		rev, err := s.getItem(ctx, reverseKey(id, channel), attrSK, attrCPK)
		if err != nil {
			return fail(err)
		}
		if rev != nil {
			pk = membershipOf(rev, channel).pk
		} else {
			pk = s.memberPK(id, channel)
		}
	}
	if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: memberKey(pk, id)}); err != nil {
		return fail(err)
	}
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    &s.table,
		Key:          reverseKey(id, channel),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return fail(err)
	}
	if tok, ok := out.Attributes[attrTok]; ok {
		if err := s.deleteIfToken(ctx, memberKey(membershipOf(out.Attributes, channel).pk, id), tok); err != nil {
			return fail(err)
		}
	}
	return nil
}

func (s *DynamoDB) getItem(ctx context.Context, key map[string]types.AttributeValue, attrs ...string) (map[string]types.AttributeValue, error) {
	names := map[string]string{}
	proj := make([]string, len(attrs))
	for i, a := range attrs {
		n := "#a" + strconv.Itoa(i)
		names[n] = a
		proj[i] = n
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      key,
		ConsistentRead:           ptr(true),
		ProjectionExpression:     ptr(strings.Join(proj, ", ")),
		ExpressionAttributeNames: names,
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// deleteIfToken deletes the item at key if its token is tok.
func (s *DynamoDB) deleteIfToken(ctx context.Context, key map[string]types.AttributeValue, tok types.AttributeValue) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       key,
		ConditionExpression:       ptr("#tok = :tok"),
		ExpressionAttributeNames:  map[string]string{"#tok": attrTok},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tok": tok},
	})
	if isConditionFailed(err) {
		return nil
	}
	return err
}

// Members implements Store: a Query of the channel's partition, PageSize
// items at a time, in connection id order. A sharded channel (see
// DynamoDBOptions.ChannelShards) is a Query of each shard's partition and of
// the unsharded one, run in parallel and merged in connection id order, a
// connection found on two partitions listed once; the stream then holds up
// to a page per partition.
func (s *DynamoDB) Members(ctx context.Context, channel string) iter.Seq2[string, error] {
	if err := checkName("members", "channel name", channel, maxChannel); err != nil {
		return errSeq(err)
	}
	pks := []string{chanPrefix + channel}
	if n := s.channelShards(channel); n > 1 {
		for k := range n {
			pks = append(pks, shardPK(channel, k))
		}
	}
	if len(pks) == 1 {
		return s.members(ctx, channel, pks[0])
	}
	return func(yield func(string, error) bool) {
		// Each partition is read by a goroutine of its own, in its sort
		// key order (conn#ID), and the streams are merged in that order,
		// so that a connection on two partitions (a Join of a process with
		// other ChannelShards moving it) comes out of two streams at once
		// and is listed once, with no more memory than a page per stream.
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()
		h := make(mergeHeap, 0, len(pks))
		for _, pk := range pks {
			st := &stream{c: make(chan memberResult, 16)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(st.c)
				for id, err := range s.members(ctx, channel, pk) {
					select {
					case st.c <- memberResult{id, err}:
					case <-ctx.Done():
						return
					}
				}
			}()
			h = append(h, st)
		}
		// Take each stream's first id, then repeatedly the smallest.
		live := h[:0]
		for _, st := range h {
			if st.next() {
				live = append(live, st)
			}
		}
		h = live
		heap.Init(&h)
		last := ""
		for len(h) > 0 {
			st := h[0]
			if st.head.err != nil {
				yield("", st.head.err)
				return
			}
			id := st.head.id
			if st.next() {
				heap.Fix(&h, 0)
			} else {
				heap.Pop(&h)
			}
			if id == last {
				continue
			}
			last = id
			if !yield(id, nil) {
				return
			}
		}
	}
}

type memberResult struct {
	id  string
	err error
}

// stream is one partition's listing in Members, with its next result.
type stream struct {
	c    chan memberResult
	head memberResult
}

// next moves to the next result, and reports false at the end.
func (st *stream) next() bool {
	r, ok := <-st.c
	st.head = r
	return ok
}

// mergeHeap orders streams by their next result: errors first, then ids in
// the order DynamoDB sorts string keys (UTF-8 bytes, as Go compares strings).
type mergeHeap []*stream

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	a, b := h[i].head, h[j].head
	if (a.err != nil) != (b.err != nil) {
		return a.err != nil
	}
	return a.id < b.id
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*stream)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// members streams the ids of the unexpired membership items of channel on
// partition pk, and ends with an error if listing fails.
func (s *DynamoDB) members(ctx context.Context, channel, pk string) iter.Seq2[string, error] {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            ptr(true),
		KeyConditionExpression:    ptr("#pk = :pk"),
		ProjectionExpression:      ptr("#id, #ttl"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#id": attrID, "#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		Limit:                     &s.pageSize,
	}
	return func(yield func(string, error) bool) {
		for item, err := range s.query(ctx, in) {
			if err != nil {
				yield("", wrap(err, "members of %q", channel))
				return
			}
			if s.expired(item) {
				continue
			}
			if !yield(getS(item, attrID), nil) {
				return
			}
		}
	}
}

// Connections implements Store: a Query of each shard of the connections
// index, PageSize items at a time.
func (s *DynamoDB) Connections(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for i := range s.shards {
			in := &dynamodb.QueryInput{
				TableName:                 &s.table,
				IndexName:                 ptr(indexName),
				KeyConditionExpression:    ptr("#g = :g"),
				ExpressionAttributeNames:  map[string]string{"#g": attrShard},
				ExpressionAttributeValues: map[string]types.AttributeValue{":g": str("conns#" + strconv.Itoa(i))},
				Limit:                     &s.pageSize,
			}
			for item, err := range s.query(ctx, in) {
				if err != nil {
					yield("", wrap(err, "list connections"))
					return
				}
				if s.expired(item) {
					continue
				}
				if !yield(getS(item, attrID), nil) {
					return
				}
			}
		}
	}
}

// query streams the items of a Query, one page at a time.
func (s *DynamoDB) query(ctx context.Context, in *dynamodb.QueryInput) iter.Seq2[map[string]types.AttributeValue, error] {
	return func(yield func(map[string]types.AttributeValue, error) bool) {
		page := *in
		for {
			out, err := s.client.Query(ctx, &page)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, item := range out.Items {
				if !yield(item, nil) {
					return
				}
			}
			if len(out.LastEvaluatedKey) == 0 {
				return
			}
			page.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
}

func ptr[T any](v T) *T { return &v }

// apiError is the method of the SDK's API errors (smithy.APIError) that
// wrap needs.
type apiError interface{ ErrorCode() string }

func errorCode(err error) string {
	var ae apiError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// wrap prefixes err with "connstore: " and the operation, and says so when
// DynamoDB throttled the call beyond what the SDK's retryer would retry.
func wrap(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	switch errorCode(err) {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded":
		return fmt.Errorf("connstore: %s: throttled by DynamoDB, still after the SDK's retries: %w", op, err)
	}
	return fmt.Errorf("connstore: %s: %w", op, err)
}
