package connstore_test

import (
	"context"
	"fmt"

	"github.com/lambdaws/lambdaws/connstore"
)

func Example() {
	ctx := context.Background()
	store := connstore.NewMemory() // or connstore.NewDynamoDB(dynamodb.NewFromConfig(cfg), "connections", nil)

	// $connect: remember who connected.
	_ = store.Add(ctx, "Xb1=", map[string]string{"user": "ada"})
	_ = store.Add(ctx, "Yc2=", map[string]string{"user": "grace"})

	// A "join" message.
	_ = store.Join(ctx, "Xb1=", "general")
	_ = store.Join(ctx, "Yc2=", "general")
	_ = store.Join(ctx, "Yc2=", "random")

	// Broadcast to a channel: the ids stream page by page.
	for id, err := range store.Members(ctx, "general") {
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		c, _ := store.Get(ctx, id)
		fmt.Println(id, c.Metadata["user"], c.Channels)
	}

	// $disconnect.
	_ = store.Remove(ctx, "Yc2=")
	_, err := store.Get(ctx, "Yc2=")
	fmt.Println(err)
	// Output:
	// Xb1= ada [general]
	// Yc2= grace [general random]
	// connstore: connection not found: "Yc2="
}
