module.exports = (text) => `hello, ${text}`;
