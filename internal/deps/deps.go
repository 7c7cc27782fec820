// Package deps pins the modules lambdaws uses until the packages that import
// them exist. It is deleted once every module below has a real importer.
package deps

import (
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	_ "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	_ "github.com/coder/websocket"
)
