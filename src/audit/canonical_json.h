// The canonical serialization of JSON that signatures over documents cover
// (an export's manifest, a compliance report): every object's members
// sorted by name, no whitespace, scalars as boost::json serializes them. A
// verifier re-serializes what it received the same way, so the signed
// bytes need not be kept.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace piivault::audit {

std::string CanonicalJson(const boost::json::value& v);

}  // namespace piivault::audit
