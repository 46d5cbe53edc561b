/**
 * `npm run catalog:generate`: writes the bundled product catalog `catalog/products.json`.
 * `npm run catalog:generate -- --products 100000 [--out file]`: writes a large catalog of that
 * many products (default `catalog/generated/products-<n>.json`, not committed) for benches and
 * scale tests: the sample's product families again in further model generations ("Trailridge 2"),
 * each with its own price level, plus links, pictures and some products out of stock.
 *
 * The catalog is generated from hand-written product families (brands, model names, the
 * attributes shoppers ask about, realistic price bands) with a seeded random generator, so the
 * same script always writes the same file: a change to the catalog is a reviewed change to this
 * script, and the catalog's content hash (part of the answer cache key) only moves when the
 * products do. Brand names are invented.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CatalogProductInput } from '../src/assistant/catalog/catalog.js';

const SEED = 20261122;

/** Every generated product has a rating. */
type Product = CatalogProductInput & { rating: number };

/** mulberry32: a tiny, well-distributed seeded PRNG. */
function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof seeded>;

/** A shop-like price: whole dollars ending in .99, .95, .49 or .00 for big tickets. */
function shopPrice(rng: Rng, value: number): number {
  const base = Math.max(1, Math.floor(value));
  if (base >= 300) return Math.round(base / 10) * 10 - 0.01;
  const cents = rng.pick([0.99, 0.99, 0.99, 0.95, 0.49]);
  return Math.round((base + cents) * 100) / 100;
}

interface Feature {
  /** An adjective shoppers search for ("waterproof", "cordless"). */
  adj?: string;
  /** A "with …" clause for the description. */
  with?: string;
  /** Put the adjective into the product name as well. */
  inName?: boolean;
  tag?: string;
  /** How likely a product of the family has it (default 0.4). */
  p?: number;
  /** Price change as a fraction of the base price. */
  dp?: number;
}

interface Family {
  category: string;
  noun: string;
  count: number;
  brands: string[];
  models: string[];
  price: [number, number];
  features?: Feature[];
  gendered?: boolean;
  gift?: boolean;
  tags?: string[];
  blurbs: string[];
  /** Editions that tell two products of one model apart (default: colors). */
  variants?: string[];
}

const F = (adj: string, extra: Omit<Feature, 'adj'> = {}): Feature => ({ adj, tag: adj, ...extra });

const families: Family[] = [
  // ── shoes ──────────────────────────────────────────────────────────────────────────────
  {
    category: 'shoes', noun: 'Hiking Boot', count: 16, gendered: true,
    brands: ['Northpeak', 'Ridgeway', 'Alpenfold', 'Cairn & Co'],
    models: ['Trailridge', 'Summit Pass', 'Scree', 'Timberline', 'Granite', 'Switchback', 'Talus', 'Highroute'],
    price: [69, 199],
    features: [
      F('waterproof', { with: 'a sealed waterproof membrane that keeps feet dry in streams and rain', inName: true, p: 0.7, dp: 0.15 }),
      F('lightweight', { with: 'a lightweight mesh-and-suede upper', p: 0.4 }),
      F('insulated', { with: '200g insulation for cold-weather hikes', p: 0.2, dp: 0.1 }),
      { with: 'a grippy lugged rubber outsole', p: 0.6 },
      F('leather', { with: 'a full-grain leather upper', p: 0.35, dp: 0.1 }),
    ],
    tags: ['boots', 'hiking', 'outdoor'],
    blurbs: ['Ankle support for rocky trails and long days on the move.', 'A cushioned midsole keeps multi-day hikes comfortable.', 'Broken in from the first mile, with a roomy toe box.'],
  },
  {
    category: 'shoes', noun: 'Mid Hiking Boot', count: 9, gendered: true,
    brands: ['Ridgeway', 'Northpeak', 'Cairn & Co'],
    models: ['Day Hiker', 'Ridgeline', 'Foothill', 'Wayfarer', 'Pathfinder'],
    price: [59, 139],
    features: [
      F('waterproof', { with: 'a waterproof, breathable lining', inName: true, p: 0.8, dp: 0.1 }),
      F('lightweight', { with: 'a light synthetic upper', p: 0.5 }),
      { with: 'a rubber toe cap and a grippy outsole', p: 0.5 },
    ],
    tags: ['boots', 'hiking', 'outdoor', 'walking'],
    blurbs: ['A comfortable, good-value boot for day hikes and muddy walks.', 'Comfortable out of the box, with no break-in needed.'],
  },
  {
    category: 'shoes', noun: 'Running Shoe', count: 16, gendered: true,
    brands: ['Stridewell', 'Velocity Lab', 'Pacer', 'Northpeak'],
    models: ['Glide 5', 'Tempo Pro', 'Cloudstep', 'Daily Trainer', 'Swift 3', 'Marathon Max', 'Flyline', 'Roadrunner'],
    price: [59, 179],
    features: [
      F('lightweight', { with: 'a featherweight knit upper', inName: false, p: 0.5 }),
      F('cushioned', { with: 'a plush foam midsole for long runs', p: 0.5, dp: 0.1 }),
      F('breathable', { with: 'an engineered breathable mesh', p: 0.4 }),
      F('reflective', { with: 'reflective details for early-morning runs', p: 0.25 }),
      F('waterproof', { with: 'a waterproof membrane for wet roads', inName: true, p: 0.12, dp: 0.15 }),
    ],
    tags: ['running', 'sneakers', 'road'],
    blurbs: ['A responsive ride for daily miles and race day.', 'Neutral support for easy runs and tempo sessions.', 'Made for beginners and marathoners alike.'],
  },
  {
    category: 'shoes', noun: 'Trail Running Shoe', count: 6, gendered: true,
    brands: ['Stridewell', 'Ridgeway', 'Velocity Lab'],
    models: ['Mudline', 'Rockhopper', 'Ridge Runner', 'Fell Racer'],
    price: [89, 169],
    features: [
      F('waterproof', { with: 'a waterproof membrane', inName: true, p: 0.4, dp: 0.15 }),
      F('lightweight', { with: 'a light, quick-drying upper', p: 0.5 }),
      { with: 'aggressive 5 mm lugs for mud and loose dirt', p: 0.7 },
    ],
    tags: ['running', 'trail', 'outdoor'],
    blurbs: ['A rock plate protects your feet on technical descents.', 'Sure-footed grip on wet roots and gravel.'],
  },
  {
    category: 'shoes', noun: 'Rain Boot', count: 6, gendered: true,
    brands: ['Puddlejump', 'Harbor & Hale', 'Ridgeway'],
    models: ['Classic Tall', 'Chelsea', 'Short Wellie', 'Deckhand'],
    price: [34, 119],
    features: [
      F('waterproof', { with: 'a seamless waterproof natural-rubber shell', inName: true, p: 1 }),
      F('lined', { with: 'a soft cotton lining', p: 0.4 }),
    ],
    tags: ['boots', 'rain', 'wellies'],
    blurbs: ['Pull-on comfort for rainy commutes, gardens and festivals.', 'Slip-resistant soles for wet pavements.'],
  },
  {
    category: 'shoes', noun: 'Winter Boot', count: 7, gendered: true,
    brands: ['Alpenfold', 'Polar Trail', 'Northpeak'],
    models: ['Snowline', 'Frostguard', 'Tundra', 'Blizzard', 'Icefield'],
    price: [89, 229],
    features: [
      F('waterproof', { with: 'a waterproof seam-sealed construction', inName: true, p: 0.85, dp: 0.1 }),
      F('insulated', { with: 'insulation rated to -25°C', inName: true, p: 0.9, dp: 0.1 }),
      { with: 'a removable felt liner', p: 0.4 },
    ],
    tags: ['boots', 'winter', 'snow'],
    blurbs: ['Warm, dry feet through slush, snow and icy sidewalks.', 'A winter-grip outsole bites into packed snow.'],
  },
  {
    category: 'shoes', noun: 'Sneaker', count: 9, gendered: true,
    brands: ['Urbanfield', 'Pacer', 'Lumen Street'],
    models: ['Court 78', 'Canvas Low', 'Metro', 'Everyday', 'Retro Runner'],
    price: [39, 129],
    features: [F('canvas', { with: 'a washable canvas upper', p: 0.35 }), F('leather', { with: 'a soft leather upper', p: 0.35, dp: 0.2 }), F('slip-on', { p: 0.15 })],
    tags: ['casual', 'sneakers'],
    blurbs: ['A clean everyday sneaker that goes with jeans and chinos.', 'All-day comfort for city walking.'],
  },
  {
    category: 'shoes', noun: 'Sandal', count: 5, gendered: true,
    brands: ['Tidewater', 'Urbanfield', 'Ridgeway'],
    models: ['Riverwalk', 'Beachcomber', 'Sport Strap'],
    price: [24, 89],
    features: [F('waterproof', { with: 'water-ready straps that dry fast', p: 0.5 }), F('adjustable', { with: 'three adjustable straps', p: 0.6 })],
    tags: ['summer', 'sandals'],
    blurbs: ['Made for river crossings, beach days and travel.', 'A contoured footbed supports the arch.'],
  },
  {
    category: 'shoes', noun: 'Slipper', count: 5, gendered: true, gift: true,
    brands: ['Hearthside', 'Woolly Lane'],
    models: ['Cozy Moc', 'Fireside', 'Shearling Scuff'],
    price: [19, 69],
    features: [F('memory foam', { with: 'a memory foam footbed', p: 0.5 }), F('wool-lined', { with: 'a warm wool lining', p: 0.5 })],
    tags: ['home', 'cozy'],
    blurbs: ['A cozy gift for lazy weekends at home.', 'An indoor-outdoor sole for quick trips to the mailbox.'],
  },
  // ── apparel ────────────────────────────────────────────────────────────────────────────
  {
    category: 'apparel', noun: 'Rain Jacket', count: 8, gendered: true,
    brands: ['Northpeak', 'Ridgeway', 'Harbor & Hale'],
    models: ['Stormshell', 'Drizzle', 'Cloudburst', 'Monsoon'],
    price: [69, 249],
    features: [
      F('waterproof', { with: 'a waterproof, breathable 2.5-layer shell with taped seams', inName: true, p: 0.9, dp: 0.1 }),
      F('packable', { with: 'a stuff pocket so it packs into itself', p: 0.5 }),
      F('lightweight', { p: 0.5 }),
    ],
    tags: ['jacket', 'rain', 'outdoor'],
    blurbs: ['An adjustable hood and pit zips for wet hikes and commutes.', 'Keeps you dry in a downpour without overheating.'],
  },
  {
    category: 'apparel', noun: 'Down Jacket', count: 6, gendered: true,
    brands: ['Polar Trail', 'Alpenfold', 'Northpeak'],
    models: ['Loft 800', 'Cirrus', 'Puffer Hoody', 'Glacier'],
    price: [119, 329],
    features: [F('water-resistant', { with: 'a water-resistant ripstop shell', p: 0.6 }), F('packable', { with: 'a packable design', p: 0.5 }), F('lightweight', { p: 0.5 })],
    tags: ['jacket', 'winter', 'warm'],
    blurbs: ['Responsibly sourced 700-fill down for serious warmth.', 'Warm enough for winter city days and cold camps.'],
  },
  {
    category: 'apparel', noun: 'Fleece Jacket', count: 5, gendered: true,
    brands: ['Ridgeway', 'Woolly Lane', 'Northpeak'],
    models: ['Basecamp', 'Teddy Zip', 'Grid'],
    price: [39, 109],
    features: [F('recycled', { with: 'recycled polyester fleece', p: 0.5 }), F('midweight', { p: 0.4 })],
    tags: ['fleece', 'layering', 'warm'],
    blurbs: ['A soft mid layer for chilly mornings.', 'Zippered hand pockets and a stand-up collar.'],
  },
  {
    category: 'apparel', noun: 'Hoodie', count: 6, gendered: true, gift: true,
    brands: ['Urbanfield', 'Lumen Street', 'Woolly Lane'],
    models: ['Everyday', 'Heavyweight', 'Campus', 'Lounge'],
    price: [29, 79],
    features: [F('organic cotton', { with: 'brushed organic cotton', p: 0.5 }), F('oversized', { p: 0.3 })],
    tags: ['casual', 'sweatshirt'],
    blurbs: ['A soft, roomy hoodie for weekends.', 'A kangaroo pocket and a lined hood.'],
  },
  {
    category: 'apparel', noun: 'T-Shirt', count: 6, gendered: true,
    brands: ['Urbanfield', 'Lumen Street', 'Stridewell'],
    models: ['Essential Crew', 'Pocket Tee', 'Performance Tee', 'Vintage Wash'],
    price: [14, 39],
    features: [F('organic cotton', { p: 0.4 }), F('moisture-wicking', { with: 'moisture-wicking fabric', p: 0.3 })],
    tags: ['casual', 'tee'],
    blurbs: ['A wardrobe staple that keeps its shape wash after wash.', 'Soft against the skin, easy to layer.'],
  },
  {
    category: 'apparel', noun: 'Leggings', count: 5, gendered: false,
    brands: ['Stridewell', 'Flowform'],
    models: ['High-Rise', 'Studio 7/8', 'Run Tight', 'Sculpt'],
    price: [29, 98],
    features: [F('squat-proof', { p: 0.5 }), F('high-waisted', { p: 0.5 }), { with: 'a hidden phone pocket', p: 0.5 }],
    tags: ['women', 'yoga', 'running', 'activewear'],
    blurbs: ["Women's leggings that move with you from yoga to errands.", 'Four-way stretch with a smooth, opaque finish.'],
  },
  {
    category: 'apparel', noun: 'Jeans', count: 5, gendered: true,
    brands: ['Lumen Street', 'Indigo Mill'],
    models: ['Slim Straight', 'Relaxed Taper', 'Classic 5-Pocket'],
    price: [44, 129],
    features: [F('stretch', { with: 'a touch of stretch for comfort', p: 0.6 }), F('selvedge', { p: 0.2, dp: 0.4 })],
    tags: ['denim', 'casual'],
    blurbs: ['Durable denim that softens with every wear.', 'A mid-rise fit that works all week.'],
  },
  {
    category: 'apparel', noun: 'Hiking Socks (3-Pack)', count: 5, gendered: true, gift: true,
    brands: ['Woolly Lane', 'Ridgeway'],
    models: ['Merino Crew', 'Trail Quarter', 'Cushion Hiker'],
    price: [16, 34],
    features: [F('merino wool', { with: 'odor-resistant merino wool', p: 0.8 }), F('cushioned', { p: 0.5 })],
    tags: ['socks', 'hiking', 'stocking stuffer'],
    blurbs: ['Blister-free miles in boots and trail shoes.', 'A practical gift for hikers and walkers.'],
  },
  {
    category: 'apparel', noun: 'Beanie', count: 4, gift: true,
    brands: ['Woolly Lane', 'Polar Trail'],
    models: ['Cable Knit', 'Fisherman', 'Ribbed Cuff'],
    price: [14, 39],
    features: [F('merino wool', { p: 0.4 }), F('fleece-lined', { p: 0.5 })],
    tags: ['hat', 'winter', 'stocking stuffer'],
    blurbs: ['A warm winter hat that makes an easy gift.', 'Soft, itch-free knit for cold days.'],
  },
  // ── outdoor ────────────────────────────────────────────────────────────────────────────
  {
    category: 'outdoor', noun: 'Backpacking Tent', count: 8,
    brands: ['Northpeak', 'Basecamp Gear', 'Alpenfold'],
    models: ['Trailhouse 2', 'Ultralite 1', 'Ridge 3', 'Family Dome 4', 'Skyline 2'],
    price: [129, 499],
    features: [
      F('waterproof', { with: 'a waterproof rainfly with taped seams', p: 0.8 }),
      F('ultralight', { with: 'a trail weight under 1.5 kg', inName: true, p: 0.3, dp: 0.4 }),
      F('freestanding', { p: 0.5 }),
    ],
    tags: ['camping', 'tent', 'backpacking'],
    blurbs: ['Sets up in minutes with color-coded poles.', 'Two doors and vestibules for gear.'],
  },
  {
    category: 'outdoor', noun: 'Sleeping Bag', count: 6,
    brands: ['Polar Trail', 'Basecamp Gear', 'Alpenfold'],
    models: ['Cocoon 20', 'Three-Season 35', 'Summer Lite 50', 'Expedition 0'],
    price: [59, 329],
    features: [F('down', { with: '650-fill down insulation', p: 0.4, dp: 0.5 }), F('compressible', { p: 0.5 }), F('water-resistant', { p: 0.4 })],
    tags: ['camping', 'backpacking'],
    blurbs: ['A mummy shape that traps warmth on cold nights.', 'Comes with a compression stuff sack.'],
  },
  {
    category: 'outdoor', noun: 'Hiking Backpack', count: 8,
    brands: ['Northpeak', 'Ridgeway', 'Basecamp Gear'],
    models: ['Daypack 22L', 'Trek 45L', 'Summit 30L', 'Thru-Hiker 60L', 'Scramble 18L'],
    price: [39, 269],
    features: [
      F('waterproof', { with: 'a waterproof roll-top and included rain cover', inName: true, p: 0.3, dp: 0.15 }),
      F('lightweight', { p: 0.5 }),
      { with: 'a hydration sleeve and ventilated back panel', p: 0.5 },
    ],
    tags: ['backpack', 'hiking', 'daypack'],
    blurbs: ['Padded hip belt and adjustable torso for all-day comfort.', 'Plenty of pockets for snacks, maps and layers.'],
  },
  {
    category: 'outdoor', noun: 'Headlamp', count: 6, gift: true,
    brands: ['Lumen Gear', 'Basecamp Gear'],
    models: ['Beam 400', 'Trail 250', 'Night Owl 600'],
    price: [19, 69],
    features: [F('rechargeable', { with: 'USB-C charging', p: 0.7 }), F('waterproof', { with: 'an IPX7 waterproof housing', p: 0.5 }), { with: 'a red night-vision mode', p: 0.5 }],
    tags: ['camping', 'light', 'stocking stuffer'],
    blurbs: ['Hands-free light for camp chores and night hikes.', 'A small, useful gift for anyone who camps or runs.'],
  },
  {
    category: 'outdoor', noun: 'Insulated Water Bottle', count: 6, gift: true,
    brands: ['Hydroloop', 'Basecamp Gear'],
    models: ['Everyday 24 oz', 'Trail 32 oz', 'Slim 18 oz', 'Wide Mouth 40 oz'],
    price: [17, 44],
    features: [F('leakproof', { p: 0.7 }), F('stainless steel', { with: 'double-wall vacuum stainless steel', p: 0.8 }), F('dishwasher-safe', { p: 0.4 })],
    tags: ['bottle', 'hydration'],
    blurbs: ['Keeps drinks cold for 24 hours or hot for 12.', 'A sturdy everyday bottle and an easy gift.'],
  },
  {
    category: 'outdoor', noun: 'Camping Stove', count: 4,
    brands: ['Basecamp Gear', 'Alpenfold'],
    models: ['Pocket Burner', 'Jetboil-style Cook System', 'Twin Burner'],
    price: [29, 149],
    features: [F('compact', { p: 0.6 }), { with: 'a built-in push-button igniter', p: 0.5 }],
    tags: ['camping', 'cooking'],
    blurbs: ['Boils a liter of water in about three minutes.', 'Runs on standard isobutane canisters.'],
  },
  {
    category: 'outdoor', noun: 'Trekking Poles (Pair)', count: 4,
    brands: ['Ridgeway', 'Alpenfold'],
    models: ['Carbon Z', 'Aluminum Flip-Lock', 'Trail Pro'],
    price: [39, 149],
    features: [F('lightweight', { with: 'carbon-fiber shafts', p: 0.5, dp: 0.5 }), F('collapsible', { p: 0.6 })],
    tags: ['hiking', 'trekking'],
    blurbs: ['Cork grips and quick-lock adjustment.', 'Saves your knees on steep descents.'],
  },
  {
    category: 'outdoor', noun: 'Camping Chair', count: 4,
    brands: ['Basecamp Gear', 'Tidewater'],
    models: ['Fireside Lounger', 'Compact Lite', 'Beach Low'],
    price: [29, 119],
    features: [F('folding', { p: 0.8 }), F('lightweight', { p: 0.5 }), { with: 'a cup holder', p: 0.5 }],
    tags: ['camping', 'chair'],
    blurbs: ['Folds down to fit in a trunk or backpack.', 'Sturdy enough for long evenings by the fire.'],
  },
];

families.push(
  // ── electronics ────────────────────────────────────────────────────────────────────────
  {
    category: 'electronics', noun: 'Smartwatch', count: 7,
    brands: ['Kinetik', 'Orbitron', 'Vireo'],
    models: ['Pulse 3', 'Active S', 'Sport GPS', 'Classic 2'],
    price: [79, 399],
    features: [F('waterproof', { with: 'water resistance to 50 m for swimming', p: 0.6 }), { with: 'built-in GPS and heart-rate tracking', p: 0.6, dp: 0.2 }, { with: 'up to 7 days of battery life', p: 0.4 }],
    tags: ['wearable', 'fitness', 'watch'],
    blurbs: ['Notifications, sleep tracking and workouts on your wrist.', 'Works with iPhone and Android.'],
  },
  {
    category: 'electronics', noun: 'Tablet', count: 6,
    brands: ['Vireo', 'Orbitron', 'Lumina'],
    models: ['Tab 10', 'Tab 11 Pro', 'Slate 8', 'Kids Tab 8'],
    price: [119, 649],
    features: [F('lightweight', { p: 0.4 }), { with: 'a sharp 2K display', p: 0.5, dp: 0.2 }, { with: '128GB of storage', p: 0.5, dp: 0.15 }],
    tags: ['tablet', 'streaming', 'reading'],
    blurbs: ['Great for streaming, reading and video calls.', 'All-day battery for travel.'],
  },
  {
    category: 'electronics', noun: 'Portable Charger', count: 6, gift: true,
    brands: ['Voltaic', 'Kinetik'],
    models: ['PowerCore 10000', 'Slim 5000', 'Travel 20000', 'MagSnap'],
    price: [19, 69],
    features: [F('fast-charging', { with: '20W USB-C fast charging', p: 0.6 }), F('compact', { p: 0.5 }), F('wireless', { with: 'magnetic wireless charging', p: 0.3, dp: 0.3 })],
    tags: ['power bank', 'travel', 'phone', 'stocking stuffer'],
    blurbs: ['Charges a phone two to three times on the go.', 'A practical gift for travelers and commuters.'],
  },
  {
    category: 'electronics', noun: 'Wireless Mouse', count: 5,
    brands: ['Keyform', 'Orbitron'],
    models: ['Glide M3', 'Ergo Vertical', 'Travel Mini'],
    price: [14, 89],
    features: [F('ergonomic', { p: 0.5 }), F('rechargeable', { p: 0.5 }), F('silent', { with: 'silent clicks', p: 0.4 })],
    tags: ['computer', 'office', 'accessory'],
    blurbs: ['Bluetooth and USB receiver, works on most surfaces.', 'Comfortable for long workdays.'],
  },
  {
    category: 'electronics', noun: 'Mechanical Keyboard', count: 5,
    brands: ['Keyform', 'Orbitron'],
    models: ['K75 Tenkeyless', 'Compact 65', 'Full-Size Pro'],
    price: [49, 179],
    features: [F('wireless', { with: 'Bluetooth and 2.4 GHz wireless', p: 0.5, dp: 0.2 }), F('backlit', { with: 'RGB backlighting', p: 0.6 }), F('hot-swappable', { p: 0.4 })],
    tags: ['computer', 'gaming', 'typing'],
    blurbs: ['Tactile switches for satisfying, accurate typing.', 'Works with Windows and macOS.'],
  },
  {
    category: 'electronics', noun: 'Laptop Sleeve', count: 4,
    brands: ['Keyform', 'Harbor & Hale'],
    models: ['Padded 13-inch', 'Felt 14-inch', 'Travel 16-inch'],
    price: [15, 49],
    features: [F('water-resistant', { p: 0.5 }), { with: 'a front accessory pocket', p: 0.5 }],
    tags: ['accessory', 'computer', 'case'],
    blurbs: ['Protects a laptop from bumps and scratches in a bag.', 'Slim enough to slide into any backpack.'],
  },
  {
    category: 'electronics', noun: 'USB-C Hub', count: 4,
    brands: ['Voltaic', 'Keyform'],
    models: ['7-in-1', 'Travel 5-in-1', 'Dock Pro 11-in-1'],
    price: [24, 129],
    features: [{ with: '4K HDMI output and 100W pass-through charging', p: 0.7 }, F('compact', { p: 0.5 })],
    tags: ['accessory', 'computer', 'adapter'],
    blurbs: ['Adds HDMI, USB-A and an SD card reader to a laptop.', 'Plug-and-play with no drivers.'],
  },
  {
    category: 'electronics', noun: 'Webcam', count: 4,
    brands: ['Orbitron', 'Lumina'],
    models: ['StreamCam 1080p', 'Meet 4K', 'Clip HD'],
    price: [29, 179],
    features: [{ with: 'dual noise-reducing microphones', p: 0.6 }, F('auto-focus', { p: 0.5 })],
    tags: ['computer', 'video calls', 'streaming'],
    blurbs: ['Sharp video for calls and streaming in low light.', 'Clips onto any monitor or laptop.'],
  },
  {
    category: 'electronics', noun: 'Computer Monitor', count: 5,
    brands: ['Lumina', 'Orbitron'],
    models: ['27-inch QHD', '24-inch FHD', '32-inch 4K', '34-inch Ultrawide'],
    price: [129, 599],
    features: [{ with: 'a 144Hz refresh rate', p: 0.4, dp: 0.2 }, F('adjustable', { with: 'a height-adjustable stand', p: 0.5 }), { with: 'USB-C with 65W charging', p: 0.3, dp: 0.2 }],
    tags: ['computer', 'display', 'office'],
    blurbs: ['An IPS panel with accurate color for work and play.', 'Thin bezels for multi-monitor setups.'],
  },
  // ── audio ──────────────────────────────────────────────────────────────────────────────
  {
    category: 'audio', noun: 'Headphones', count: 14,
    brands: ['Sonvale', 'Auralis', 'Bassline', 'Kinetik'],
    models: ['Quiet 700', 'Studio Over-Ear', 'Commuter', 'Aria', 'Studio Monitor', 'Voyager', 'Hush Pro'],
    price: [39, 379],
    features: [
      F('wireless', { with: 'Bluetooth 5.3 with multipoint pairing', inName: true, p: 0.75, dp: 0.2 }),
      F('noise cancelling', { with: 'active noise cancelling that silences planes and trains', inName: true, p: 0.55, dp: 0.45 }),
      { with: 'up to 40 hours of battery life', p: 0.4 },
      F('foldable', { p: 0.3 }),
    ],
    tags: ['headphones', 'over-ear', 'music'],
    blurbs: ['Plush memory-foam ear cushions for long listening sessions.', 'Rich, balanced sound with deep bass.', 'A built-in microphone for calls.'],
  },
  {
    category: 'audio', noun: 'Earbuds', count: 12,
    brands: ['Sonvale', 'Auralis', 'Bassline', 'Kinetik'],
    models: ['Buds Pro', 'Air Lite', 'Sport Fit', 'Pods 2', 'Mini'],
    price: [24, 279],
    features: [
      F('wireless', { with: 'true wireless Bluetooth with a charging case', inName: true, p: 0.9, dp: 0.1 }),
      F('noise cancelling', { with: 'active noise cancelling with a transparency mode', inName: true, p: 0.45, dp: 0.5 }),
      F('waterproof', { with: 'an IPX7 sweatproof and waterproof rating', p: 0.4 }),
    ],
    tags: ['earbuds', 'in-ear', 'music', 'workout'],
    blurbs: ['A secure fit for workouts and commutes.', 'Clear calls with beamforming microphones.'],
  },
  {
    category: 'audio', noun: 'Bluetooth Speaker', count: 10, gift: true,
    brands: ['Bassline', 'Sonvale', 'Tidewater'],
    models: ['Boom Mini', 'Pulse 360', 'Party Max', 'Pocket'],
    price: [24, 249],
    features: [F('waterproof', { with: 'an IP67 waterproof and dustproof build', inName: true, p: 0.5, dp: 0.1 }), F('portable', { p: 0.7 }), { with: '20 hours of playtime', p: 0.5 }],
    tags: ['speaker', 'wireless', 'music', 'outdoor'],
    blurbs: ['Big sound for the beach, the pool or the backyard.', 'Pairs two speakers for stereo sound.'],
  },
  {
    category: 'audio', noun: 'Soundbar', count: 5,
    brands: ['Sonvale', 'Auralis'],
    models: ['Cinema 2.1', 'Slim 200', 'Atmos 5.1'],
    price: [99, 699],
    features: [F('wireless', { with: 'a wireless subwoofer', p: 0.5, dp: 0.3 }), { with: 'Dolby Atmos support', p: 0.4, dp: 0.5 }],
    tags: ['tv', 'home theater'],
    blurbs: ['Clearer dialogue and fuller sound for TV and movies.', 'Connects by HDMI eARC or optical.'],
  },
  // ── home & kitchen ─────────────────────────────────────────────────────────────────────
  {
    category: 'home & kitchen', noun: 'Coffee Maker', count: 6,
    brands: ['Brewhaus', 'Kitchenry', 'Morning Co'],
    models: ['Drip 12-Cup', 'Pour-Over Pro', 'Single Serve', 'Espresso Duo'],
    price: [39, 349],
    features: [F('programmable', { with: 'a programmable 24-hour timer', p: 0.5 }), { with: 'a thermal carafe', p: 0.4, dp: 0.2 }, { with: 'a built-in milk frother', p: 0.3, dp: 0.4 }],
    tags: ['coffee', 'kitchen appliance'],
    blurbs: ['Hot, full-flavored coffee every morning.', 'Easy to clean with a removable filter basket.'],
  },
  {
    category: 'home & kitchen', noun: 'Blender', count: 5,
    brands: ['Kitchenry', 'Vortex Home'],
    models: ['Power 1200', 'Personal Go', 'Pro Series'],
    price: [29, 299],
    features: [F('high-speed', { p: 0.5, dp: 0.3 }), F('portable', { with: 'a rechargeable, cordless base', p: 0.3 }), F('dishwasher-safe', { p: 0.5 })],
    tags: ['smoothies', 'kitchen appliance'],
    blurbs: ['Crushes ice and frozen fruit for smoothies in seconds.', 'BPA-free jars in several sizes.'],
  },
  {
    category: 'home & kitchen', noun: 'Air Fryer', count: 5,
    brands: ['Kitchenry', 'Vortex Home', 'Crisply'],
    models: ['5.8 qt Basket', 'Dual Zone 8 qt', 'Compact 3 qt', 'Oven 10-in-1'],
    price: [49, 229],
    features: [F('digital', { with: 'a digital touchscreen with presets', p: 0.6 }), F('dishwasher-safe', { with: 'a nonstick, dishwasher-safe basket', p: 0.6 })],
    tags: ['kitchen appliance', 'cooking'],
    blurbs: ['Crispy fries and wings with little or no oil.', 'Cooks faster than a conventional oven.'],
  },
  {
    category: 'home & kitchen', noun: "Chef's Knife", count: 5, gift: true,
    brands: ['Kiri Steel', 'Kitchenry'],
    models: ['8-inch Gyuto', 'Classic 8-inch', 'Santoku 7-inch'],
    price: [24, 189],
    features: [F('stainless steel', { with: 'high-carbon stainless steel', p: 0.7 }), F('forged', { p: 0.5, dp: 0.3 })],
    tags: ['knife', 'cooking', 'cutlery'],
    blurbs: ['Razor-sharp and balanced for everyday prep.', 'A gift home cooks use every day.'],
  },
  {
    category: 'home & kitchen', noun: 'Cookware Set', count: 4,
    brands: ['Kitchenry', 'Castmore'],
    models: ['10-Piece Nonstick', 'Tri-Ply 7-Piece', 'Cast Iron Trio'],
    price: [79, 399],
    features: [F('nonstick', { p: 0.5 }), F('oven-safe', { p: 0.5 }), F('induction-ready', { p: 0.5 })],
    tags: ['pots', 'pans', 'cooking'],
    blurbs: ['Everything a new kitchen needs, from saucepan to skillet.', 'Even heating with no hot spots.'],
  },
  {
    category: 'home & kitchen', noun: 'Ceramic Mug', count: 6, gift: true,
    brands: ['Morning Co', 'Clay & Kiln'],
    models: ['Speckled 12 oz', 'Stoneware 16 oz', 'Handmade Glaze', 'Café 10 oz'],
    price: [12, 36],
    features: [F('handmade', { p: 0.4 }), F('dishwasher-safe', { p: 0.6 }), F('microwave-safe', { p: 0.5 })],
    tags: ['coffee', 'tea', 'stocking stuffer'],
    blurbs: ['A cheerful gift for coffee and tea lovers.', 'Each glaze is a little different.'],
  },
  {
    category: 'home & kitchen', noun: 'Scented Candle', count: 7, gift: true, variants: ['8 oz', '14 oz', '3-Wick'],
    brands: ['Hearthside', 'Wick & Ember'],
    models: ['Cedar & Smoke', 'Fresh Linen', 'Vanilla Bean', 'Sea Salt Sage', 'Winter Pine'],
    price: [12, 42],
    features: [F('soy wax', { with: 'a natural soy wax blend', p: 0.7 }), { with: 'a 50-hour burn time', p: 0.5 }],
    tags: ['candle', 'home fragrance', 'cozy'],
    blurbs: ['A hand-poured candle that makes a lovely gift.', 'A calming scent for cozy evenings.'],
  },
  {
    category: 'home & kitchen', noun: 'Throw Blanket', count: 5, gift: true,
    brands: ['Woolly Lane', 'Hearthside'],
    models: ['Chunky Knit', 'Sherpa Fleece', 'Waffle Cotton'],
    price: [24, 119],
    features: [F('machine-washable', { p: 0.6 }), F('oversized', { p: 0.4 })],
    tags: ['blanket', 'cozy', 'living room'],
    blurbs: ['Soft and warm for the sofa or the bed.', 'A cozy housewarming gift.'],
  },
  {
    category: 'home & kitchen', noun: 'Stick Vacuum', count: 6,
    brands: ['Vortex Home', 'Cleanline'],
    models: ['V8 Lite', 'Pet Pro', 'Slim Max', 'Hardfloor'],
    price: [99, 499],
    features: [
      F('cordless', { with: 'a cordless design with up to 60 minutes of runtime', inName: true, p: 0.85, dp: 0.2 }),
      F('lightweight', { p: 0.5 }),
      { with: 'a HEPA filter that traps dust and pet hair', p: 0.5, dp: 0.1 },
    ],
    tags: ['vacuum', 'cleaning', 'pet hair'],
    blurbs: ['Converts to a handheld for stairs and car seats.', 'Strong suction on carpets and hard floors.'],
  },
  {
    category: 'home & kitchen', noun: 'Electric Kettle', count: 4,
    brands: ['Brewhaus', 'Kitchenry'],
    models: ['Gooseneck 0.9L', 'Rapid Boil 1.7L', 'Glass 1.5L'],
    price: [24, 129],
    features: [{ with: 'variable temperature control', p: 0.5, dp: 0.5 }, F('cordless', { with: 'a cordless pour base', p: 0.7 })],
    tags: ['tea', 'coffee', 'kitchen appliance'],
    blurbs: ['Boils water in under four minutes.', 'Auto shut-off and boil-dry protection.'],
  },
  // ── toys & games ───────────────────────────────────────────────────────────────────────
  {
    category: 'toys & games', noun: 'Board Game', count: 10, gift: true, variants: ['Deluxe Edition', 'Travel Edition', 'Expansion Bundle'],
    brands: ['Meeple Forge', 'Tabletop Co', 'Brightbox'],
    models: ['Harbor Lights', 'Seed & Sprout', 'Cartographers of Vell', 'Night Train', 'Castle Keep', 'Tidepool'],
    price: [19, 69],
    features: [{ with: 'games that last 30 to 60 minutes', p: 0.6 }, F('cooperative', { p: 0.3 }), F('family-friendly', { p: 0.6 })],
    tags: ['game night', 'family', 'strategy'],
    blurbs: ['For 2 to 5 players, ages 10 and up.', 'Easy to learn, with plenty of replay value.'],
  },
  {
    category: 'toys & games', noun: 'Jigsaw Puzzle', count: 6, gift: true, variants: ['Gift Box Edition', 'Panoramic'],
    brands: ['Brightbox', 'Piecewise'],
    models: ['1000-Piece Alpine Lake', '500-Piece Botanical', '1000-Piece City Lights', '300-Piece Kids Safari'],
    price: [14, 34],
    features: [{ with: 'thick, snug-fitting pieces', p: 0.7 }, F('recycled', { with: 'recycled board and soy inks', p: 0.4 })],
    tags: ['puzzle', 'family'],
    blurbs: ['A relaxing gift for puzzle lovers.', 'A poster of the finished image is included.'],
  },
  {
    category: 'toys & games', noun: 'Building Set', count: 8, gift: true,
    brands: ['Brickworks', 'Brightbox'],
    models: ['Space Shuttle', 'Treehouse', 'Race Car', 'Castle', 'Robot Lab'],
    price: [14, 149],
    features: [{ with: 'step-by-step illustrated instructions', p: 0.6 }, F('STEM', { p: 0.4 })],
    tags: ['kids', 'construction', 'creative'],
    blurbs: ['Hours of creative building for ages 7 and up.', 'Compatible with other major brick brands.'],
  },
  {
    category: 'toys & games', noun: 'Plush Toy', count: 6, gift: true,
    brands: ['Snugglebug', 'Brightbox'],
    models: ['Bear', 'Sloth', 'Narwhal', 'Fox', 'Dino'],
    price: [9, 34],
    features: [F('machine-washable', { p: 0.6 }), F('extra-soft', { p: 0.5 })],
    tags: ['kids', 'baby', 'stuffed animal'],
    blurbs: ['A cuddly friend for ages 0 and up.', 'A sweet gift for babies and toddlers.'],
  },
  {
    category: 'toys & games', noun: 'Remote Control Car', count: 5, gift: true,
    brands: ['Zoomix', 'Brightbox'],
    models: ['Rock Crawler', 'Drift King', 'Stunt Flip'],
    price: [24, 129],
    features: [F('rechargeable', { p: 0.7 }), F('waterproof', { with: 'waterproof electronics for puddles and snow', p: 0.3 }), F('all-terrain', { p: 0.5 })],
    tags: ['kids', 'rc', 'outdoor'],
    blurbs: ['Speeds up to 30 km/h for backyard races.', 'Ages 8 and up.'],
  },
  {
    category: 'toys & games', noun: 'Card Game', count: 6, gift: true, variants: ['Party Edition', 'Family Edition'],
    brands: ['Tabletop Co', 'Meeple Forge'],
    models: ['Sly Foxes', 'Word Rush', 'Pirate Loot', 'Quick Draw'],
    price: [9, 24],
    features: [F('party', { p: 0.4 }), F('travel-size', { p: 0.5 })],
    tags: ['game night', 'family', 'stocking stuffer'],
    blurbs: ['Quick rounds that fit any game night.', 'An inexpensive gift that gets played a lot.'],
  },
  {
    category: 'toys & games', noun: 'Science Kit', count: 4, gift: true,
    brands: ['Brightbox', 'Curio Labs'],
    models: ['Crystal Growing', 'Volcano Lab', 'Circuit Explorer'],
    price: [19, 59],
    features: [F('STEM', { p: 0.8 }), { with: 'a 40-page experiment guide', p: 0.6 }],
    tags: ['kids', 'educational', 'science'],
    blurbs: ['Hands-on experiments for curious kids aged 8 to 12.', 'Everything needed is in the box.'],
  },
  // ── beauty ─────────────────────────────────────────────────────────────────────────────
  {
    category: 'beauty', noun: 'Face Moisturizer', count: 6, variants: ['50 ml', '100 ml'],
    brands: ['Lumière Skin', 'Botanica', 'Dermalab'],
    models: ['Daily Hydrate', 'Barrier Repair', 'Oil-Free Gel', 'Night Renew'],
    price: [12, 68],
    features: [F('fragrance-free', { p: 0.5 }), { with: 'hyaluronic acid and ceramides', p: 0.6 }, { with: 'SPF 30', p: 0.3 }],
    tags: ['skincare', 'face'],
    blurbs: ['Lightweight hydration for all skin types.', 'Dermatologist tested and non-comedogenic.'],
  },
  {
    category: 'beauty', noun: 'Shampoo', count: 5, variants: ['250 ml', '500 ml', 'Refill 1 L'],
    brands: ['Botanica', 'Silk & Stone'],
    models: ['Volume', 'Repair', 'Curl Care', 'Clarifying'],
    price: [8, 34],
    features: [F('sulfate-free', { p: 0.6 }), F('vegan', { p: 0.4 })],
    tags: ['haircare'],
    blurbs: ['Gentle cleansing that leaves hair soft and shiny.', 'Safe for color-treated hair.'],
  },
  {
    category: 'beauty', noun: 'Lipstick', count: 5, gift: true,
    brands: ['Rouge Atelier', 'Lumière Skin'],
    models: ['Velvet Matte', 'Satin Glow', 'Long-Wear'],
    price: [9, 38],
    features: [F('long-lasting', { p: 0.6 }), F('vegan', { p: 0.4 }), F('hydrating', { p: 0.5 })],
    tags: ['makeup', 'lips'],
    blurbs: ['Rich color in a single swipe.', 'A small luxury that makes a sweet gift.'],
  },
  {
    category: 'beauty', noun: 'Eau de Parfum', count: 6, gift: true, variants: ['50 ml', '100 ml', '10 ml Travel Spray'],
    brands: ['Maison Verre', 'Rouge Atelier'],
    models: ['Fig Noir', 'Amber Coast', 'White Tea', 'Citrus Grove'],
    price: [29, 149],
    features: [{ with: 'notes of bergamot, cedar and musk', p: 0.5 }, { with: 'a travel-size atomizer', p: 0.4 }],
    tags: ['fragrance', 'perfume'],
    blurbs: ['A signature scent that lasts all day.', 'Beautifully boxed and ready to give.'],
  },
  {
    category: 'beauty', noun: 'Skincare Gift Set', count: 5, gift: true, variants: ['Dry Skin', 'Oily Skin', 'Sensitive Skin'],
    brands: ['Botanica', 'Lumière Skin', 'Dermalab'],
    models: ['Glow Essentials', 'Travel Minis', 'Self-Care Ritual'],
    price: [19, 89],
    features: [{ with: 'a cleanser, serum and moisturizer', p: 0.6 }, F('vegan', { p: 0.4 })],
    tags: ['skincare', 'gift set', 'self-care'],
    blurbs: ['A ready-to-gift box for a pampering night in.', 'Travel-friendly sizes for trying a routine.'],
  },
  {
    category: 'beauty', noun: 'Hair Dryer', count: 5,
    brands: ['Silk & Stone', 'Vortex Home'],
    models: ['Ionic Pro', 'Travel Fold', 'Salon 2000W'],
    price: [29, 299],
    features: [F('ionic', { p: 0.6 }), F('lightweight', { p: 0.4 }), F('foldable', { p: 0.3 })],
    tags: ['haircare', 'styling'],
    blurbs: ['Fast drying with less frizz.', 'Comes with a diffuser and a concentrator nozzle.'],
  },
  {
    category: 'beauty', noun: 'Electric Toothbrush', count: 4,
    brands: ['Dermalab', 'Brightsmile'],
    models: ['Sonic 3', 'Clean Pro', 'Travel Slim'],
    price: [24, 149],
    features: [F('rechargeable', { p: 0.9 }), { with: 'a 2-minute timer and pressure sensor', p: 0.6 }],
    tags: ['oral care'],
    blurbs: ['Removes more plaque than a manual brush.', 'Up to three weeks per charge.'],
  },
  {
    category: 'beauty', noun: 'Sunscreen SPF 50', count: 4, variants: ['100 ml', 'Family Size 250 ml'],
    brands: ['Botanica', 'Dermalab'],
    models: ['Sport Lotion', 'Mineral Face', 'Kids Stick'],
    price: [9, 32],
    features: [F('water-resistant', { with: '80 minutes of water resistance', p: 0.7 }), F('reef-safe', { p: 0.5 }), F('mineral', { p: 0.4 })],
    tags: ['sun care', 'summer', 'outdoor'],
    blurbs: ['Broad-spectrum protection for beach and trail days.', 'Non-greasy and quick to absorb.'],
  },
  // ── sports & fitness ───────────────────────────────────────────────────────────────────
  {
    category: 'sports & fitness', noun: 'Yoga Mat', count: 6, gift: true,
    brands: ['Flowform', 'Kinetik'],
    models: ['Grip 6mm', 'Travel 2mm', 'Cork Natural', 'Pro Align'],
    price: [19, 109],
    features: [F('non-slip', { p: 0.7 }), F('eco-friendly', { with: 'natural rubber and cork', p: 0.4, dp: 0.3 }), F('lightweight', { p: 0.3 })],
    tags: ['yoga', 'pilates', 'home workout'],
    blurbs: ['Cushioning for joints on hard floors.', 'Comes with a carry strap.'],
  },
  {
    category: 'sports & fitness', noun: 'Adjustable Dumbbells', count: 5,
    brands: ['Ironclad', 'Kinetik'],
    models: ['Quick-Select 25 lb', 'Pair 52.5 lb', 'Compact 15 lb'],
    price: [49, 399],
    features: [{ with: 'a quick weight-selection dial', p: 0.7, dp: 0.2 }, F('space-saving', { p: 0.5 })],
    tags: ['strength', 'home gym', 'weights'],
    blurbs: ['Replaces a full rack of weights in a small apartment.', 'Secure locking plates.'],
  },
  {
    category: 'sports & fitness', noun: 'Resistance Bands Set', count: 5, gift: true, variants: ['Light', 'Heavy'],
    brands: ['Flowform', 'Ironclad'],
    models: ['5-Level Loop', 'Tube Pro', 'Booty Band Trio'],
    price: [9, 39],
    features: [F('portable', { p: 0.6 }), { with: 'door anchor and handles', p: 0.5 }],
    tags: ['strength', 'home workout', 'travel'],
    blurbs: ['A full-body workout that fits in a carry bag.', 'Five resistance levels from light to heavy.'],
  },
  {
    category: 'sports & fitness', noun: 'Fitness Tracker', count: 5, gift: true,
    brands: ['Kinetik', 'Orbitron'],
    models: ['Band 5', 'Slim HR', 'Active Lite'],
    price: [29, 149],
    features: [F('waterproof', { with: 'a waterproof band for swimming', p: 0.6 }), { with: 'heart-rate and sleep tracking', p: 0.7 }],
    tags: ['wearable', 'steps', 'health'],
    blurbs: ['Counts steps, calories and active minutes.', 'A week of battery on one charge.'],
  },
  {
    category: 'sports & fitness', noun: 'Basketball', count: 4,
    brands: ['Courtside', 'Ironclad'],
    models: ['Indoor/Outdoor Size 7', 'Composite Pro', 'Youth Size 5'],
    price: [19, 69],
    features: [{ with: 'a deep-channel composite cover for grip', p: 0.6 }],
    tags: ['ball', 'team sports'],
    blurbs: ['Consistent bounce on courts and driveways.', 'Official size and weight.'],
  },
  {
    category: 'sports & fitness', noun: 'Tennis Racket', count: 4,
    brands: ['Courtside', 'Velocity Lab'],
    models: ['Control 100', 'Power 105', 'Junior 25'],
    price: [29, 229],
    features: [F('lightweight', { p: 0.5 }), F('pre-strung', { p: 0.6 })],
    tags: ['tennis', 'racquet sports'],
    blurbs: ['A forgiving sweet spot for developing players.', 'Includes a protective cover.'],
  },
  {
    category: 'sports & fitness', noun: 'Bike Helmet', count: 4,
    brands: ['Velocity Lab', 'Urbanfield'],
    models: ['Commuter MIPS', 'Road Aero', 'Kids Cruiser'],
    price: [34, 179],
    features: [F('ventilated', { p: 0.6 }), { with: 'a rechargeable rear LED light', p: 0.4, dp: 0.2 }],
    tags: ['cycling', 'safety'],
    blurbs: ['Certified protection with a dial-fit system.', 'Light and cool on long rides.'],
  },
  {
    category: 'sports & fitness', noun: 'Foam Roller', count: 3, gift: true,
    brands: ['Flowform', 'Kinetik'],
    models: ['Firm 18-inch', 'Textured Grid', 'Vibrating Pro'],
    price: [14, 99],
    features: [F('textured', { p: 0.6 })],
    tags: ['recovery', 'massage'],
    blurbs: ['Eases sore muscles after runs and workouts.', 'Hollow core keeps its shape.'],
  },
  {
    category: 'sports & fitness', noun: 'Jump Rope', count: 3, gift: true,
    brands: ['Ironclad', 'Kinetik'],
    models: ['Speed Cable', 'Weighted', 'Smart Counter'],
    price: [9, 39],
    features: [F('adjustable', { p: 0.7 })],
    tags: ['cardio', 'home workout', 'stocking stuffer'],
    blurbs: ['Ball-bearing handles for smooth, fast turns.', 'A great-value cardio gift.'],
  },
  {
    category: 'sports & fitness', noun: 'Swim Goggles', count: 4,
    brands: ['Tidewater', 'Velocity Lab'],
    models: ['Racer', 'Open Water', 'Kids Splash'],
    price: [12, 39],
    features: [F('anti-fog', { p: 0.8 }), F('waterproof', { with: 'a leak-proof waterproof seal', p: 0.5 })],
    tags: ['swimming', 'pool'],
    blurbs: ['A comfortable silicone gasket for long sessions.', 'UV-protected lenses for outdoor swims.'],
  },
  // ── gifts ──────────────────────────────────────────────────────────────────────────────
  {
    category: 'gifts', noun: 'Chocolate Gift Box', count: 6, gift: true, variants: ['Dark', 'Milk', 'Gift Edition', 'Large'],
    brands: ['Cocoa Atelier', 'Hearthside'],
    models: ['Truffle Assortment 16-Piece', 'Sea Salt Caramels', 'Single-Origin Bars Trio', 'Holiday Collection'],
    price: [14, 59],
    features: [F('vegan', { p: 0.2 }), { with: 'a handwritten card option', p: 0.4 }],
    tags: ['chocolate', 'food gift', 'birthday'],
    blurbs: ['A thoughtful gift for birthdays, holidays and thank-yous.', 'Hand-finished in small batches.'],
  },
  {
    category: 'gifts', noun: 'Tea Sampler', count: 5, gift: true, variants: ['Gift Edition', 'Large', 'Holiday Edition'],
    brands: ['Leaf & Kettle', 'Morning Co'],
    models: ['World Teas 12-Tin', 'Herbal Calm', 'Matcha Starter Kit'],
    price: [16, 49],
    features: [F('organic', { p: 0.6 }), { with: 'a bamboo infuser', p: 0.4 }],
    tags: ['tea', 'food gift'],
    blurbs: ['A cozy gift for tea lovers to explore new flavors.', 'Packed in a keepsake box.'],
  },
  {
    category: 'gifts', noun: 'Coffee Gift Set', count: 5, gift: true, variants: ['Dark Roast', 'Light Roast', 'Decaf'],
    brands: ['Brewhaus', 'Morning Co'],
    models: ['Roaster Sampler', 'Pour-Over Starter', 'Cold Brew Kit'],
    price: [24, 79],
    features: [{ with: 'three single-origin roasts', p: 0.6 }, { with: 'a ceramic dripper', p: 0.4 }],
    tags: ['coffee', 'food gift'],
    blurbs: ['A gift that makes mornings better.', 'Freshly roasted beans from small farms.'],
  },
  {
    category: 'gifts', noun: 'Leather Journal', count: 5, gift: true,
    brands: ['Paper Nest', 'Harbor & Hale'],
    models: ['Travelers A5', 'Pocket Notebook', 'Refillable Classic'],
    price: [14, 49],
    features: [F('refillable', { p: 0.5 }), F('handmade', { p: 0.4 })],
    tags: ['journal', 'writing', 'stationery'],
    blurbs: ['Thick, fountain-pen-friendly paper.', 'A personal gift for writers and travelers.'],
  },
  {
    category: 'gifts', noun: 'Picture Frame', count: 4, gift: true,
    brands: ['Paper Nest', 'Clay & Kiln'],
    models: ['Oak 5x7', 'Brass Minimal 4x6', 'Gallery 8x10'],
    price: [12, 44],
    features: [F('wooden', { p: 0.5 })],
    tags: ['decor', 'photo', 'wedding'],
    blurbs: ['Frames a favorite memory on a desk or shelf.', 'Stands or hangs.'],
  },
  {
    category: 'gifts', noun: 'Succulent Garden Kit', count: 4, gift: true, variants: ['Mini', 'Large'],
    brands: ['Greenling', 'Clay & Kiln'],
    models: ['Desk Trio', 'Terrarium', 'Grow Your Own'],
    price: [18, 54],
    features: [{ with: 'a ceramic planter', p: 0.6 }],
    tags: ['plants', 'decor', 'office'],
    blurbs: ['Low-maintenance greenery for desks and windowsills.', 'A living gift that lasts.'],
  },
  {
    category: 'gifts', noun: 'Wine Glasses (Set of 4)', count: 4, gift: true,
    brands: ['Clay & Kiln', 'Maison Verre'],
    models: ['Stemless', 'Classic Bordeaux', 'Crystal Tulip'],
    price: [24, 89],
    features: [F('dishwasher-safe', { p: 0.6 }), F('lead-free crystal', { p: 0.4 })],
    tags: ['glassware', 'wedding', 'housewarming'],
    blurbs: ['An elegant housewarming or wedding gift.', 'Thin rims for a better sip.'],
  },
  {
    category: 'gifts', noun: 'Cozy Socks Gift Box', count: 4, gift: true,
    brands: ['Woolly Lane', 'Hearthside'],
    models: ['Cabin 3-Pair', 'Fuzzy 4-Pair', 'Holiday Stripes'],
    price: [14, 36],
    features: [F('wool blend', { p: 0.5 })],
    tags: ['socks', 'stocking stuffer', 'cozy'],
    blurbs: ['Warm socks in a giftable box.', 'A small gift that always gets used.'],
  },
  // ── pet supplies ───────────────────────────────────────────────────────────────────────
  {
    category: 'pet supplies', noun: 'Dog Bed', count: 5,
    brands: ['Pawsome', 'Tailwind Pets'],
    models: ['Orthopedic Large', 'Donut Calming', 'Bolster Medium'],
    price: [29, 149],
    features: [F('orthopedic', { with: 'orthopedic memory foam', p: 0.5, dp: 0.3 }), F('machine-washable', { with: 'a removable, machine-washable cover', p: 0.6 }), F('waterproof', { with: 'a waterproof liner', p: 0.3 })],
    tags: ['dog', 'sleep'],
    blurbs: ['Supportive comfort for older dogs and big sleepers.', 'A non-skid base keeps it in place.'],
  },
  {
    category: 'pet supplies', noun: 'Cat Toy Set', count: 4, gift: true,
    brands: ['Whiskerly', 'Pawsome'],
    models: ['Feather Wand', 'Catnip Mice 6-Pack', 'Ball Track Tower'],
    price: [7, 29],
    features: [F('interactive', { p: 0.6 })],
    tags: ['cat', 'play'],
    blurbs: ['Keeps indoor cats active and entertained.', 'A fun little gift for cat owners.'],
  },
  {
    category: 'pet supplies', noun: 'Dog Leash', count: 4,
    brands: ['Tailwind Pets', 'Pawsome'],
    models: ['Reflective 6 ft', 'Hands-Free Running', 'Retractable 16 ft'],
    price: [12, 44],
    features: [F('reflective', { p: 0.6 }), F('padded', { with: 'a padded handle', p: 0.5 })],
    tags: ['dog', 'walking'],
    blurbs: ['Strong webbing and a sturdy clip.', 'Comfortable on long walks.'],
  },
  {
    category: 'pet supplies', noun: 'Dog Raincoat', count: 4,
    brands: ['Tailwind Pets', 'Puddlejump'],
    models: ['Slicker', 'Hooded Poncho', 'Reflective Storm'],
    price: [19, 54],
    features: [F('waterproof', { with: 'a waterproof shell with a fleece lining', inName: true, p: 0.9 }), F('reflective', { p: 0.5 })],
    tags: ['dog', 'rain', 'walking'],
    blurbs: ['Keeps dogs dry on rainy walks.', 'Velcro closures for a quick fit.'],
  },
  {
    category: 'pet supplies', noun: 'Pet Water Fountain', count: 3,
    brands: ['Whiskerly', 'Pawsome'],
    models: ['Flow 2L', 'Ceramic Quiet', 'Stainless 3L'],
    price: [24, 69],
    features: [F('quiet', { p: 0.6 }), { with: 'replaceable carbon filters', p: 0.6 }],
    tags: ['cat', 'dog', 'hydration'],
    blurbs: ['Fresh, filtered water that encourages pets to drink.', 'Dishwasher-safe parts.'],
  },
);

const article = (word: string) => (/^[aeiou]/i.test(word) ? 'an' : 'a');
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const titleCase = (s: string) => s.replace(/(^|[\s-])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
const joinAnd = (items: string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
const rating = (rng: Rng) => Math.round((3.4 + rng.next() * 1.5) * 10) / 10;

/** Colors or editions that tell apart two products of the same model line. */
const DEFAULT_VARIANTS = ['Black', 'Graphite', 'Navy', 'Olive', 'Sand', 'Slate Blue', 'Forest Green', 'Burgundy', 'Stone', 'White'];

function fromFamily(rng: Rng, family: Family, taken: Set<string>): Omit<Product, 'id'>[] {
  const out: Omit<Product, 'id'>[] = [];
  const variants = family.variants ?? DEFAULT_VARIANTS;
  // "Trekking Poles (Pair)" reads as "trekking poles" in a sentence; plural nouns take no article.
  const headNoun = family.noun.replace(/\s*\(.*\)$/, '').toLowerCase();
  const plural = /s$/.test(headNoun) && !/(ss|us)$/.test(headNoun);
  const modelLevels = new Map<string, number>();
  for (let attempt = 0; out.length < family.count && attempt < family.count * 50; attempt++) {
    const modelIndex = rng.int(0, family.models.length - 1);
    const model = family.models[modelIndex];
    // A model line belongs to one brand, as in a real shop.
    const brand = family.brands[modelIndex % family.brands.length];
    const gender = family.gendered ? rng.pick(['Women', 'Men'] as const) : undefined;
    const chosen = (family.features ?? []).filter((f) => rng.chance(f.p ?? 0.4)).slice(0, 3);
    const nameWords = chosen.filter((f) => f.inName && f.adj).map((f) => titleCase(f.adj!));
    let name = [model, gender ? `${gender}'s` : undefined, ...nameWords, family.noun].filter(Boolean).join(' ');
    if (taken.has(name)) name = `${name} (${rng.pick(variants)})`;
    if (taken.has(name)) continue;
    taken.add(name);

    // One model line has one price level; its features and editions move it a little.
    const [lo, hi] = family.price;
    const level = modelLevels.get(model) ?? lo + rng.next() * (hi - lo) * 0.8;
    modelLevels.set(model, level);
    const extras = 1 + chosen.reduce((sum, f) => sum + (f.dp ?? 0), 0);
    const price = shopPrice(rng, Math.min(hi, level * extras * (0.95 + rng.next() * 0.1)));
    const adjectives = chosen.filter((f) => f.adj).map((f) => f.adj!);
    const clauses = chosen.filter((f) => f.with).map((f) => f.with!);
    const head = [...adjectives, headNoun].join(' ');
    const who = gender ? ` for ${gender === 'Women' ? 'women' : 'men'}` : '';
    const lead = plural ? capitalize(head) : `${capitalize(article(head))} ${head}`;
    const description = `${lead}${who}${clauses.length ? ` with ${joinAnd(clauses)}` : ''}. ${rng.pick(family.blurbs)}`;
    const tags = [
      ...new Set([
        ...(family.tags ?? []),
        ...chosen.flatMap((f) => (f.tag ? [f.tag] : [])),
        ...(gender ? [gender === 'Women' ? 'women' : 'men'] : []),
        ...(family.gift ? ['gift'] : []),
      ]),
    ];
    out.push({ name, brand, category: family.category, price, currency: 'USD', description, tags, rating: rating(rng) });
  }
  return out;
}

interface LaptopLine {
  line: string;
  brand: string;
  sizes: number[];
  ram: number[];
  storage: string[];
  base: number;
  traits: string[];
  use: string;
  tags: string[];
}

const laptopLines: LaptopLine[] = [
  { line: 'Cloudbook', brand: 'Nimbus', sizes: [11.6, 14], ram: [4, 8], storage: ['64GB eMMC', '128GB eMMC'], base: 179, traits: ['affordable', 'lightweight'], use: 'Great for students, browsing, email and streaming on a budget.', tags: ['chromebook', 'student', 'school'] },
  { line: 'Everyday', brand: 'Lumina', sizes: [14, 15.6], ram: [8, 16], storage: ['256GB SSD', '512GB SSD'], base: 379, traits: ['affordable', 'reliable'], use: 'A sensible everyday laptop for home, school and office work.', tags: ['student', 'home office'] },
  { line: 'Ideabook', brand: 'Orbitron', sizes: [14, 15.6], ram: [8, 16], storage: ['256GB SSD', '512GB SSD'], base: 429, traits: ['value', 'full-HD'], use: 'Solid performance for spreadsheets, video calls and light photo editing.', tags: ['student', 'home office'] },
  { line: 'Airbook', brand: 'Vireo', sizes: [13.3, 14], ram: [16, 24], storage: ['512GB SSD', '1TB SSD'], base: 849, traits: ['ultralight', 'thin and light'], use: 'Weighs about 1.2 kg and lasts up to 18 hours, ideal for travel.', tags: ['ultrabook', 'travel', 'lightweight'] },
  { line: 'Flip', brand: 'Lumina', sizes: [14], ram: [8, 16], storage: ['256GB SSD', '512GB SSD'], base: 549, traits: ['2-in-1', 'touchscreen'], use: 'Folds into a tablet for notes and sketching with the included pen.', tags: ['2-in-1', 'convertible', 'student'] },
  { line: 'Raptor', brand: 'Orbitron', sizes: [15.6, 16], ram: [16, 32], storage: ['1TB SSD', '2TB SSD'], base: 1099, traits: ['gaming', '165Hz'], use: 'Dedicated RTX-class graphics for smooth 1440p gaming.', tags: ['gaming', 'high performance'] },
  { line: 'Pro', brand: 'Vireo', sizes: [14, 16], ram: [32, 64], storage: ['1TB SSD', '2TB SSD'], base: 1699, traits: ['high-performance', 'color-accurate'], use: 'A workstation-class laptop for video editing, 3D and software development.', tags: ['creator', 'professional', 'high performance'] },
];

function laptops(rng: Rng, lines: LaptopLine[] = laptopLines): Omit<Product, 'id'>[] {
  const out: Omit<Product, 'id'>[] = [];
  for (const l of lines) {
    for (const size of l.sizes) {
      for (const ram of l.ram) {
        for (const storage of l.storage) {
          if (rng.chance(0.3) && out.length > 4) continue;
          const ramStep = l.ram.indexOf(ram);
          const storageStep = l.storage.indexOf(storage);
          const value = l.base * (1 + 0.18 * ramStep + 0.12 * storageStep + (size > 15 ? 0.08 : 0)) + rng.int(0, 40);
          const price = value >= 300 ? Math.round(value / 10) * 10 - 0.01 : shopPrice(rng, value);
          const inches = `${size}-inch`;
          const trait = rng.pick(l.traits);
          out.push({
            name: `${l.line} ${size} Laptop (${ram}GB RAM, ${storage})`,
            brand: l.brand,
            category: 'laptops',
            price,
            currency: 'USD',
            description: `${capitalize(article(trait))} ${trait} ${inches} laptop with ${ram}GB RAM, ${storage} storage and up to ${rng.int(8, 18)} hours of battery life. ${l.use}`,
            tags: [...new Set(['laptop', 'notebook', 'computer', ...l.tags, ...(value < 500 ? ['budget'] : [])])],
            rating: rating(rng),
          });
        }
      }
    }
  }
  return out;
}

const bookLists: { kind: string; publisher: string[]; price: [number, number]; gift: boolean; titles: [string, string][] }[] = [
  {
    kind: 'novel', publisher: ['Lantern House', 'Northwind Press', 'Quill & Ivy'], price: [9, 28], gift: true,
    titles: [
      ['The Salt Orchard', 'A sweeping family saga set on a windswept coastal farm'],
      ['Nine Bells at Midnight', 'A twisty mystery novel in which a village clockmaker vanishes'],
      ['The Cartographer’s Daughter', 'A historical novel about mapping an unknown coastline'],
      ['Ember and Ash', 'An epic fantasy novel of rival fire mages'],
      ['The Quiet Frequency', 'A science-fiction thriller about a signal from deep space'],
      ['Summer at Larkspur Lane', 'A warm, funny romance novel about second chances'],
      ['Cold Harbor', 'A page-turning crime thriller set in a frozen port town'],
      ['The Glass Lighthouse', 'A literary novel about grief, sisters and the sea'],
      ['A Map of Small Kingdoms', 'A cozy fantasy novel about a bookshop between worlds'],
      ['The Last Train to Velmora', 'A spy thriller across 1950s Europe'],
      ['Paper Moons', 'A coming-of-age novel about friendship and first love'],
      ['The Beekeeper’s Secret', 'A bestselling mystery novel with a clever twist'],
    ],
  },
  {
    kind: 'cookbook', publisher: ['Fieldnote Press', 'Lantern House'], price: [19, 39], gift: true,
    titles: [
      ['Weeknight Vegetarian', '120 quick vegetarian recipes for busy evenings'],
      ['Salt, Fire & Smoke', 'A grilling and barbecue cookbook with 90 recipes'],
      ['The Sourdough Year', 'A baker’s cookbook for bread, pizza and pastries'],
      ['One Pan Dinners', 'Easy sheet-pan and skillet recipes with less washing up'],
      ['Little Kitchen, Big Flavor', 'A cookbook for small spaces and simple meals'],
      ['Plants on the Plate', 'A vegan cookbook with colorful everyday recipes'],
    ],
  },
  {
    kind: "children's book", publisher: ['Little Acorn Books', 'Quill & Ivy'], price: [7, 19], gift: true,
    titles: [
      ['Otter Goes Camping', 'A picture book about a brave otter’s first night in a tent'],
      ['The Moon Who Couldn’t Sleep', 'A gentle bedtime picture book'],
      ['Dinosaurs Don’t Eat Broccoli', 'A silly picture book for ages 3 to 6'],
      ['Pip and the Paper Boat', 'A picture book about friendship and rainy days'],
      ['Mira Builds a Robot', 'A STEM picture book for young inventors'],
      ['The Biggest Snowball Ever', 'A winter picture book for ages 4 to 8'],
      ['Ten Little Owls', 'A counting board book for toddlers'],
    ],
  },
  {
    kind: 'guidebook', publisher: ['Fieldnote Press', 'Northwind Press'], price: [14, 29], gift: false,
    titles: [
      ['Day Hikes of the Pacific Northwest', 'A hiking guidebook with 75 trails, maps and elevation profiles'],
      ['Backpacking Basics', 'A beginner’s guide to gear, food and planning multi-day hikes'],
      ['Rocky Mountain Trails', 'A hiking guidebook to 60 alpine hikes'],
      ['Wild Camping in Europe', 'A travel guidebook for camping off the beaten path'],
      ['The National Parks Road Trip', 'A travel guide with itineraries for 20 national parks'],
    ],
  },
  {
    kind: 'nonfiction book', publisher: ['Northwind Press', 'Lantern House'], price: [14, 32], gift: true,
    titles: [
      ['Small Habits, Big Days', 'A practical self-help book on building habits that stick'],
      ['The Art of Resting', 'A book on sleep, calm and doing less'],
      ['Money Without Fear', 'A friendly personal-finance book for beginners'],
      ['The Curious Gardener', 'A gardening book for balconies and backyards'],
      ['How Bridges Stand', 'Popular science about the engineering all around us'],
      ['Run Your First Marathon', 'A training plan and running book for first-timers'],
    ],
  },
  {
    kind: 'coffee table book', publisher: ['Lantern House', 'Fieldnote Press'], price: [29, 59], gift: true,
    titles: [
      ['National Parks in Photographs', 'A large-format photography book of America’s national parks'],
      ['Mountains: A Visual Journey', 'A hardcover photography book of the world’s great peaks'],
      ['Modern Cabins', 'A design book of small cabins and retreats'],
      ['The Atlas of Coffee', 'An illustrated book about coffee from farm to cup'],
    ],
  },
];

function books(rng: Rng): Omit<Product, 'id'>[] {
  return bookLists.flatMap((list) =>
    list.titles.map(([title, blurb]) => {
      const hardcover = rng.chance(0.4);
      const price = shopPrice(rng, (list.price[0] + rng.next() * (list.price[1] - list.price[0])) * (hardcover ? 1.25 : 1));
      return {
        name: `${title} (${hardcover ? 'Hardcover' : 'Paperback'})`,
        brand: rng.pick(list.publisher),
        category: 'books',
        price: Math.min(price, list.price[1] + 15.99),
        currency: 'USD',
        description: `${blurb}. ${hardcover ? 'Hardcover' : 'Paperback'}, ${rng.int(120, 520)} pages${list.gift ? ', and a great gift for readers' : ''}.`,
        tags: [...new Set(['book', list.kind, hardcover ? 'hardcover' : 'paperback', ...(list.gift ? ['gift'] : [])])],
        rating: rating(rng),
      };
    }),
  );
}

/** The shop's page of a product (the domain is reserved for examples). */
const productUrl = (id: string) => `https://shop.example.com/products/${id}`;

/** A family's next model generation: "Trailridge" → "Trailridge 2", so names stay unique. */
function generation(family: Family, n: number): Family {
  return { ...family, models: family.models.map((m) => `${m} ${n}`) };
}

function laptopGeneration(n: number): LaptopLine[] {
  return laptopLines.map((l) => ({ ...l, line: `${l.line} ${n}`, base: Math.round(l.base * (1 + 0.04 * (n - 1))) }));
}

/** The sample's drafts; with `count`, further generations until there are that many. */
function drafts(count: number | undefined): Omit<Product, 'id'>[] {
  const rng = seeded(SEED);
  const taken = new Set<string>();
  const out = [...families.flatMap((family) => fromFamily(rng, family, taken)), ...laptops(rng), ...books(rng)];
  if (count === undefined) return out;
  for (let n = 2; out.length < count; n++) {
    const round = seeded(SEED + n);
    // Each generation adds about as many products as the sample has, family by family.
    out.push(...families.flatMap((family) => fromFamily(round, generation(family, n), taken)));
    out.push(...laptopGeneration(n).flatMap((line) => laptops(round, [line])));
  }
  return out.slice(0, count);
}

function generate(count: number | undefined): Product[] {
  const counters = new Map<string, number>();
  const stock = seeded(SEED ^ 0x5eed);
  return drafts(count).map((draft) => {
    const slug = draft.category.replace(/&/g, 'and').replace(/[^a-z0-9]+/g, '-');
    const n = (counters.get(slug) ?? 0) + 1;
    counters.set(slug, n);
    const id = `${slug}-${String(n).padStart(3, '0')}`;
    const product: Product = { id, ...draft, url: productUrl(id) };
    if (count !== undefined) {
      // A large shop: most products have a picture, and some are sold out at any time.
      if (stock.chance(0.85)) product.imageUrl = `https://images.shop.example.com/products/${id}.jpg`;
      if (stock.chance(0.07)) product.inStock = false;
    }
    return product;
  });
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

const countArg = option('products');
const count = countArg === undefined ? undefined : Number(countArg);
if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > 2_000_000)) {
  console.error(`--products must be a whole number from 1 to 2000000 (got ${countArg})`);
  process.exit(1);
}
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.resolve(option('out') ?? (count === undefined ? path.join(root, 'catalog', 'products.json') : path.join(root, 'catalog', 'generated', `products-${count}.json`)));
const products = generate(count);
mkdirSync(path.dirname(target), { recursive: true });
if (count === undefined) {
  writeFileSync(target, `${JSON.stringify({ name: 'ShopAssist sample catalog', seed: SEED, products }, null, 1)}\n`);
} else {
  // One product a line: tens of megabytes stay readable and under the upload limit.
  writeFileSync(target, `{"name": "ShopAssist generated catalog", "seed": ${SEED}, "products": [\n${products.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`);
}
const counts = new Map<string, number>();
for (const p of products) counts.set(p.category, (counts.get(p.category) ?? 0) + 1);
const byCategory = [...counts].map(([c, n]) => `${c} ${n}`);
console.log(`wrote ${products.length} products to ${path.relative(process.cwd(), target)} (${byCategory.join(', ')})`);
