module.exports.handler = async () => "cjs";
