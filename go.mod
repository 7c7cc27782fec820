module github.com/lambdaws/lambdaws

go 1.24
